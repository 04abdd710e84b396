package local

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/checks/misconfig"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// TestMisconfigurationsAreCaughtByRealPrograms runs the local tier's cases of the misconfiguration table
// (checks/misconfig, which the catalogue's cross-check reads) against the real Dex, oauth2-proxy and, where a
// case needs one, kube-apiserver: the stack runs from a deliberately broken copy of a profile (the local tier
// writes the programs' configuration from profile data) and/or is changed through the target's clients before
// the checks run, while the checks compare with the original profile, as when a deployment drifts from its
// distribution's defaults. The unbroken profile then gets what it expects of the same checks.
func TestMisconfigurationsAreCaughtByRealPrograms(t *testing.T) {
	for _, tc := range misconfig.Cases {
		if !tc.On(misconfig.Local) {
			continue
		}
		t.Run(tc.Name, func(t *testing.T) {
			opts := Options{Kube: tc.Kube}
			if tc.Kube {
				requireTools(t, "etcd", "kube-apiserver", "kube-controller-manager")
			}
			want, err := profile.Get(tc.Profile)
			if err != nil {
				t.Fatal(err)
			}
			if tc.Base != nil {
				tc.Base(want)
			}
			if tc.Describe != nil {
				tc.Describe(want)
			}
			broken, _ := profile.Get(tc.Profile)
			if tc.Base != nil {
				tc.Base(broken)
			}
			if tc.Break != nil {
				tc.Break(broken)
			}
			s := startProfile(t, broken, opts)
			tg := s.Target()
			tg.Profile = want
			env := checks.NewEnv(tg)
			hook := misconfig.Hook{Target: tg, Cleanup: t.Cleanup}
			if tc.Before != nil {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				err := tc.Before(ctx, hook)
				cancel()
				if err != nil {
					t.Fatalf("before: %v", err)
				}
			}
			for _, id := range sortedIDs(tc.Want) {
				w := tc.Want[id]
				c, ok := checks.Get(id)
				if !ok {
					t.Fatalf("no check %s", id)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				r := checks.RunOne(ctx, env, c, 2*time.Minute)
				cancel()
				if r.Status != w.Status || r.Reason != w.Reason || !strings.Contains(r.Message, w.Contains) {
					t.Errorf("%s: got %s %s (%s), want %s %s containing %q", id, r.Status, r.Reason, r.Message, w.Status, w.Reason, w.Contains)
				}
			}
			if fc := env.CloseFixtures(); fc != nil && fc.Error != "" {
				t.Errorf("fixtures: %+v", fc)
			}
			if tc.After != nil {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				err := tc.After(ctx, hook)
				cancel()
				if err != nil {
					t.Errorf("after: %v", err)
				}
			}
			// and the unbroken profile passes them: the verdicts above come from the misconfiguration
			plain, _ := profile.Get(tc.Profile)
			if tc.Base != nil {
				tc.Base(plain)
			}
			ok := startProfile(t, plain, opts)
			envOK := checks.NewEnv(ok.Target())
			for _, id := range sortedIDs(tc.Want) {
				c, _ := checks.Get(id)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				r := checks.RunOne(ctx, envOK, c, 2*time.Minute)
				cancel()
				if exp := checks.ExpectedStatus(ok.Target(), c); r.Status != exp {
					t.Errorf("%s on the unbroken %s: got %s %s (%s), want %s", id, tc.Profile, r.Status, r.Reason, r.Message, exp)
				}
			}
		})
	}
}

// TestRepeatedLoginsOverlapOnRealDex: DEX-LOCAL-007's two parallel logins hold on Dex's login form until both
// have reached it, so both auth requests are pending at the real Dex at once; the real Dex and oauth2-proxy
// keep both and the check passes, with both logins posted while the other was pending (the embedded tier's
// dex-one-pending-auth-request mutation fails it).
func TestRepeatedLoginsOverlapOnRealDex(t *testing.T) {
	for _, name := range []string{"kubeflow", "deploykf"} {
		t.Run(name, func(t *testing.T) {
			p, err := profile.Get(name)
			if err != nil {
				t.Fatal(err)
			}
			s := startProfile(t, p, Options{})
			c, _ := checks.Get("DEX-LOCAL-007")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			r := checks.RunOne(ctx, checks.NewEnv(s.Target()), c, 2*time.Minute)
			if r.Status != result.Pass || !strings.Contains(r.Actual, "2 of 2 parallel logins posted with both auth requests pending") {
				t.Errorf("DEX-LOCAL-007 on the real Dex: %s %s (%s; %s)", r.Status, r.Reason, r.Message, r.Actual)
			}
		})
	}
}

func sortedIDs(m map[string]misconfig.Outcome) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
