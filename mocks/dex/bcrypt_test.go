package dex

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestPasswordMatchesRemembersOnlyAcceptances: after the right password is accepted (and remembered), a wrong one
// is still refused, the right one against another hash is refused, and the remembered one is accepted again.
func TestPasswordMatchesRemembersOnlyAcceptances(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	other, err := bcrypt.GenerateFromPassword([]byte("different"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		hash     []byte
		password string
		want     bool
	}{
		{hash, "s3cret", true}, {hash, "s3cret", true}, {hash, "s3cret!", false}, {hash, "", false},
		{other, "s3cret", false}, {other, "different", true}, {hash, "different", false},
	} {
		if got := passwordMatches(c.hash, c.password); got != c.want {
			t.Errorf("case %d (%q): %v, want %v", i, c.password, got, c.want)
		}
	}
}
