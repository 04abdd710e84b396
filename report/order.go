package report

import (
	"regexp"
	"sort"
)

// familyOrder is the catalogue's family order (checks.Families); families not listed sort after it alphabetically.
var familyOrder = []string{"SETUP", "DEX-LOCAL", "DEX-LDAP", "OAUTH2P", "OOB", "SA", "RBAC", "M2M", "ISO", "SDK"}

func familyRank(family string) int {
	for i, f := range familyOrder {
		if f == family {
			return i
		}
	}
	if family == "" {
		return len(familyOrder) + 1 // a check of unknown family goes last
	}
	return len(familyOrder)
}

// sortRows orders rows by family (catalogue order, then alphabetically) and by ID; IDs are zero-padded, so string
// order is numeric order, the same order as `kfp-authcheck list`.
func sortRows(rows []Row) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if ra, rb := familyRank(a.Family), familyRank(b.Family); ra != rb {
			return ra < rb
		}
		if a.Family != b.Family {
			return a.Family < b.Family
		}
		return a.ID < b.ID
	})
}

var idSuffix = regexp.MustCompile(`-[0-9]+$`)

// familyOfID derives a family from an ID ("DEX-LOCAL-003" -> "DEX-LOCAL") for results that do not name one, as
// in a hand-written run file.
func familyOfID(id string) string {
	if loc := idSuffix.FindStringIndex(id); loc != nil && loc[0] > 0 {
		return id[:loc[0]]
	}
	return ""
}
