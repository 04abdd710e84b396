package checks

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/checks/misconfig"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// warnOnly are the checks that by design can only warn: what they find is a weakness to record, never a broken
// auth method. Their severity is SHOULD and their title says they record or warn.
var warnOnly = map[string]string{
	"OOB-010": "a connector without refresh tokens still logs in; the user re-logs in at every ID-token expiry",
	"OOB-011": "the plain PKCE method is allowed by RFC 7636 (section 4.2); Dex accepting it is recorded",
}

// notYetCovered are the checks that have no failing case in the misconfiguration table yet, each with why. The
// goal is an empty list: the test prints it, fails when a listed check gains a failing case (take it off), and
// fails for any check that is neither covered, warn-only nor listed here.
var notYetCovered = map[string]string{}

// pendingMutations are mutations of mocks/mutate that no check catches yet, with the check that will.
var pendingMutations = map[mutate.Name]string{}

// TestEveryMutationHasACase: each mutation of mocks/mutate is in the table with the check that kills it, or
// pending on a named check that does not exist yet; the table names no unknown mutation.
func TestEveryMutationHasACase(t *testing.T) {
	cased := map[mutate.Name]bool{}
	for _, tc := range misconfig.Cases {
		if tc.Mutation == "" {
			continue
		}
		n := mutate.Name(tc.Mutation)
		if !slices.Contains(mutate.All, n) {
			t.Errorf("case %q turns on the unknown mutation %q", tc.Name, tc.Mutation)
		}
		if cased[n] {
			t.Errorf("mutation %s has two cases", n)
		}
		cased[n] = true
		failing := false
		for _, w := range tc.Want {
			failing = failing || w.Status == result.Fail
		}
		if !failing || !tc.On(misconfig.Embedded) {
			t.Errorf("mutation case %q must make a check fail on the embedded tier", tc.Name)
		}
	}
	for _, n := range mutate.All {
		switch {
		case cased[n] && pendingMutations[n] != "":
			t.Errorf("mutation %s has a case: take it off pendingMutations", n)
		case !cased[n] && pendingMutations[n] == "":
			t.Errorf("mutation %s has no case in checks/misconfig", n)
		}
	}
}

// TestEveryCheckCanFail cross-checks the catalogue with the misconfiguration table the tiers' tests run: every
// check must have a case where a misconfiguration makes it FAIL (not warn, error or n/a), unless it is warn-only
// by design (then it has no failing case, severity SHOULD and a title that says so).
func TestEveryCheckCanFail(t *testing.T) {
	failing := map[string][]string{}
	for _, tc := range misconfig.Cases {
		if len(tc.Tiers) == 0 {
			t.Errorf("case %q runs on no tier", tc.Name)
		}
		for _, tier := range tc.Tiers {
			if !tc.On(tier) || !contains(misconfig.Tiers, tier) {
				t.Errorf("case %q names tier %q, which runs no misconfiguration table", tc.Name, tier)
			}
		}
		if len(tc.Want) == 0 {
			t.Errorf("case %q wants nothing", tc.Name)
		}
		for id, w := range tc.Want {
			if _, ok := Get(id); !ok {
				t.Errorf("case %q names %s, which is not in the catalogue", tc.Name, id)
			}
			if w.Status == result.Fail {
				failing[id] = append(failing[id], tc.Name)
			}
		}
	}
	pending := map[string]bool{}
	for id := range notYetCovered {
		pending[id] = true
	}
	var missing []string
	for _, c := range All() {
		switch {
		case len(failing[c.ID]) > 0:
			if pending[c.ID] {
				t.Errorf("%s has a failing case (%s): take it off notYetCovered", c.ID, failing[c.ID][0])
			}
			if _, ok := warnOnly[c.ID]; ok {
				t.Errorf("%s is listed as warn-only but fails in %q", c.ID, failing[c.ID][0])
			}
		case warnOnly[c.ID] != "":
			if c.Severity != Should {
				t.Errorf("%s is warn-only (%s) but its severity is %s", c.ID, warnOnly[c.ID], c.Severity)
			}
			if !strings.Contains(c.Title, "warn") {
				t.Errorf("%s is warn-only but its title does not say so: %q", c.ID, c.Title)
			}
		case pending[c.ID]:
			missing = append(missing, c.ID+" ("+notYetCovered[c.ID]+")")
		default:
			t.Errorf("%s has no case in checks/misconfig where a misconfiguration makes it fail", c.ID)
		}
	}
	for id := range pending {
		if _, ok := Get(id); !ok {
			t.Errorf("notYetCovered names %s, which is not in the catalogue", id)
		}
	}
	for id := range warnOnly {
		if _, ok := Get(id); !ok {
			t.Errorf("warnOnly names %s, which is not in the catalogue", id)
		}
	}
	sort.Strings(missing)
	t.Logf("%d of %d checks have a failing case; %d warn-only; not yet covered (%d): %s",
		len(failing), len(All()), len(warnOnly), len(missing), strings.Join(missing, "; "))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
