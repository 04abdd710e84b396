package report

import (
	"regexp"
	"sort"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// sortRows orders rows by family (catalogue order, then alphabetically) and by ID; IDs are zero-padded, so string
// order is numeric order, the same order as `kfp-authcheck list`.
func sortRows(rows []Row) {
	sort.SliceStable(rows, func(i, j int) bool {
		return result.Less(rows[i].Family, rows[i].ID, rows[j].Family, rows[j].ID)
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
