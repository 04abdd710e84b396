package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// fixtureChecks are the checks that make Profile namespaces: the readers of the run's shared pair and the
// checks that make (and change) their own.
var fixtureChecks = []string{
	"SA-001", "SA-003", "SA-004", "SA-005", "SA-011", "SA-012",
	"RBAC-001", "RBAC-002", "RBAC-003", "RBAC-004",
	"ISO-004", "ISO-005", "ISO-006", "ISO-009",
	"M2M-001", "M2M-002", "M2M-004", "M2M-005",
}

// verdictsOf runs list against a fresh embedded stack of the profile, parallel checks at a time (each alone when
// alone), and returns each check's "status reason".
func verdictsOf(t *testing.T, name string, list []*Check, parallel int, alone bool) map[string]string {
	t.Helper()
	p, err := profile.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := embedded.Start(context.Background(), p, embedded.Options{})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runs := [][]*Check{list}
	if alone {
		runs = nil
		for _, c := range list {
			runs = append(runs, []*Check{c})
		}
	}
	out := map[string]string{}
	for _, l := range runs {
		run := Run(ctx, s.Target(), l, Options{Parallel: parallel, CheckTimeout: time.Minute})
		if fc := run.Fixtures; fc != nil && (fc.Error != "" || len(fc.Left) > 0) {
			t.Errorf("fixtures of %v: %s; left %v", l, fc.Error, fc.Left)
		}
		for _, r := range run.Results {
			out[r.ID] = fmt.Sprintf("%s %s", r.Status, r.Reason)
		}
	}
	return out
}

// TestFixtureVerdictsDoNotDependOnOrder: the checks that read the run's shared Profile namespaces and those that
// change namespaces of their own get the same verdicts in catalogue order one at a time, in the reverse order,
// four at a time, and each alone in a run of its own (DECISIONS: no verdict may depend on the order checks run
// in). A check that changed the shared pair (RBAC-002's cross-namespace binding on it) would turn RBAC-001, run
// after it, into a failure.
func TestFixtureVerdictsDoNotDependOnOrder(t *testing.T) {
	var list []*Check
	for _, id := range fixtureChecks {
		c, ok := Get(id)
		if !ok {
			continue // a check removed from the catalogue
		}
		list = append(list, c)
	}
	reversed := slices.Clone(list)
	slices.Reverse(reversed)
	for _, name := range []string{"kubeflow", "deploykf"} {
		t.Run(name, func(t *testing.T) {
			base := verdictsOf(t, name, list, 1, false)
			ran := 0
			for _, v := range base {
				if v[:3] != string(result.NA)[:3] {
					ran++
				}
			}
			if ran < 10 {
				t.Fatalf("only %d of the fixture checks ran on %s: %v", ran, name, base)
			}
			for _, o := range []struct {
				what     string
				list     []*Check
				parallel int
				alone    bool
			}{
				{"in reverse order", reversed, 1, false},
				{"four at a time", list, 4, false},
				{"each alone", list, 1, true},
			} {
				got := verdictsOf(t, name, o.list, o.parallel, o.alone)
				for _, c := range list {
					if got[c.ID] != base[c.ID] {
						t.Errorf("%s %s: %s, in catalogue order one at a time %s", c.ID, o.what, got[c.ID], base[c.ID])
					}
				}
			}
		})
	}
}

// TestSharedFixtureIsMadeOnceAndReadOnly: every check of a run gets the same shared pair (made once, however
// many ask at once), each with a token directory of its own; binding, unbinding or a probe pod on it is refused,
// and a check's cleanup leaves it for the end of the run, which removes it.
func TestSharedFixtureIsMadeOnceAndReadOnly(t *testing.T) {
	p, err := profile.Get("kubeflow")
	if err != nil {
		t.Fatal(err)
	}
	s, err := embedded.Start(context.Background(), p, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	env := NewEnv(s.Target())
	ctx := context.Background()

	const n = 8
	views := make([]*saFixture, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { views[i], errs[i] = sharedSAFixture(ctx, env) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, v := range views[1:] {
		if v.ns1 != views[0].ns1 || v.ns2 != views[0].ns2 || v == views[0] {
			t.Fatalf("a check got namespaces %s, %s (or the same view), another %s, %s", v.ns1, v.ns2, views[0].ns1, views[0].ns2)
		}
	}
	a, b := views[0], views[1]
	pa, err1 := a.tokenFile("one")
	pb, err2 := b.tokenFile("two")
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if pa == pb {
		t.Errorf("two checks write their token to the same file %s", pa)
	}
	if err := a.bind(ctx, fixtures.CrossNamespaceEdit); !errors.Is(err, errSharedFixture) {
		t.Errorf("bind on the shared pair: %v, want errSharedFixture", err)
	}
	if err := a.unbind(ctx, fixtures.CrossNamespaceEdit); !errors.Is(err, errSharedFixture) {
		t.Errorf("unbind on the shared pair: %v, want errSharedFixture", err)
	}
	if r := a.inPod(ctx); r.Status != result.Error {
		t.Errorf("a probe pod in the shared pair: %s %s", r.Status, r.Message)
	}
	a.cleanup()
	b.cleanup()
	if ok, err := namespaceExists(ctx, env, a.ns1); err != nil || !ok {
		t.Fatalf("after a check's cleanup the shared %s exists: %v (%v)", a.ns1, ok, err)
	}
	if fc := env.CloseFixtures(); fc == nil || fc.Error != "" || len(fc.Left) > 0 {
		t.Fatalf("closing the run's fixtures: %+v", fc)
	}
	if ok, err := namespaceExists(ctx, env, a.ns1); err != nil || ok {
		t.Fatalf("after the run the shared %s exists: %v (%v)", a.ns1, ok, err)
	}
}

func namespaceExists(ctx context.Context, env *Env, name string) (bool, error) {
	list, err := fixtures.List(ctx, env.Target.Kube, "")
	if err != nil {
		return false, err
	}
	for _, o := range list {
		if o.Kind == "Namespace" && o.Name == name && !o.Terminating {
			return true, nil
		}
	}
	return false, nil
}
