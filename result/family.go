package result

// Families are the check families in catalogue order: the order of `kfp-authcheck list` and of matrix rows.
var Families = []string{"SETUP", "DEX-LOCAL", "DEX-LDAP", "OAUTH2P", "OOB", "SA", "RBAC", "M2M", "ISO", "SDK"}

// FamilyRank is a family's position in Families; a family not listed ranks after all of them, and an empty
// family after that.
func FamilyRank(family string) int {
	for i, f := range Families {
		if f == family {
			return i
		}
	}
	if family == "" {
		return len(Families) + 1
	}
	return len(Families)
}

// Less orders two checks by family rank, then family name (for unlisted families), then ID; IDs are zero-padded
// (DEX-LOCAL-003), so string order is numeric order.
func Less(familyA, idA, familyB, idB string) bool {
	if ra, rb := FamilyRank(familyA), FamilyRank(familyB); ra != rb {
		return ra < rb
	}
	if familyA != familyB {
		return familyA < familyB
	}
	return idA < idB
}
