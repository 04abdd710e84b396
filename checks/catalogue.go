// Package checks holds every check once: its ID, title, family, severity, references, the capabilities it needs
// from the Target, and the function that proves it. Both runners (the ginkgo suites and the kfp-authcheck
// command) take checks from here; no flow logic lives anywhere else.
package checks

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// Severity says how much a failure matters: MUST is a broken auth method, SHOULD a weakness.
type Severity string

const (
	Must   Severity = "MUST"
	Should Severity = "SHOULD"
)

// Families in catalogue order (one list, shared with the reports).
var Families = result.Families

// Check is one entry of the catalogue.
type Check struct {
	ID       string
	Title    string
	Family   string
	Severity Severity
	// References name the field reports and specs that motivated the check (FIELD-REPORTS.md section 7).
	References []string
	// Needs lists the target capabilities the check requires; without them the result is n/a.
	Needs []target.Capability
	// Applies, where set, decides from the target's description alone (its profile, users and addresses; never
	// by asking the target) whether the check applies: a non-nil answer makes the result n/a with its reason, in
	// the plan (--dry-run) and in the run alike.
	Applies func(t *target.Target) *Inapplicable
	// Exclusive checks change shared state (the stack's clock) and run alone, after the others, where the target
	// has a clock to move; elsewhere they run with the rest.
	Exclusive bool
	// Long checks spend seconds in round trips on a live cluster (fixtures of their own, waits for RBAC to
	// settle, several logins): the runner starts them first, so the parallel slots finish together instead of
	// one long check running alone at the end. The order never changes a verdict (checks/fixture_order_test.go).
	Long bool
	Run  func(ctx context.Context, env *Env) result.Result
}

// Inapplicable says why a check does not apply to a target.
type Inapplicable struct {
	Reason  result.Reason
	Message string
}

var registry = map[string]*Check{}

// register adds a check at init time; a duplicate ID is a programming error caught by the catalogue test.
func register(c *Check) {
	if _, dup := registry[c.ID]; dup {
		panic("duplicate check ID " + c.ID)
	}
	registry[c.ID] = c
}

// All returns the catalogue in order: family order, then ID.
func All() []*Check {
	out := make([]*Check, 0, len(registry))
	for _, c := range registry {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return result.Less(out[i].Family, out[i].ID, out[j].Family, out[j].ID) })
	return out
}

func familyRank(f string) int { return result.FamilyRank(f) }

// Get returns one check by ID.
func Get(id string) (*Check, bool) {
	c, ok := registry[strings.ToUpper(id)]
	return c, ok
}

// Select resolves a --only list: check IDs, family names or globs on IDs (DEX-LOCAL-00*), comma-separated.
// An entry that matches nothing is an error, so a typo never yields a silently empty run.
func Select(only []string) ([]*Check, error) {
	all := All()
	if len(only) == 0 {
		return all, nil
	}
	picked := map[string]bool{}
	for _, raw := range only {
		pat := strings.ToUpper(strings.TrimSpace(raw))
		if pat == "" {
			continue
		}
		matched := false
		for _, c := range all {
			ok, err := path.Match(pat, c.ID)
			if err != nil {
				return nil, fmt.Errorf("--only %q: %w", raw, err)
			}
			if ok || c.Family == pat {
				picked[c.ID] = true
				matched = true
			}
		}
		if !matched {
			return nil, fmt.Errorf("--only %q matches no check or family (see `kfp-authcheck list`)", raw)
		}
	}
	var out []*Check
	for _, c := range all {
		if picked[c.ID] {
			out = append(out, c)
		}
	}
	return out, nil
}
