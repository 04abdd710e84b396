package local

import (
	"context"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// TestMisconfigurationsAreCaughtByRealPrograms is checks/misconfig_test.go against the real Dex and
// oauth2-proxy: the stack runs from a deliberately broken copy of a profile (the local tier writes the programs'
// configuration from profile data), while the checks compare with the original profile, as when a deployment
// drifts from its distribution's defaults.
func TestMisconfigurationsAreCaughtByRealPrograms(t *testing.T) {
	for _, tc := range []struct {
		name, profile string
		breakIt       func(p *profile.Profile)
		want          map[string][2]string // check ID -> status, reason
	}{
		{"Dex shows the approval screen (skipApprovalScreen: false)", "kubeflow",
			func(p *profile.Profile) { p.Dex.SkipApprovalScreen = false },
			map[string][2]string{"DEX-LOCAL-004": {"warn", "APPROVAL_SCREEN"}, "DEX-LOCAL-002": {"warn", "GATEWAY_CONFIG"}}},
		{"oauth2-proxy without oidc_extra_audiences for the SDK client", "deploykf",
			func(p *profile.Profile) { p.Gateway.ExtraAudiences = nil; p.Gateway.ExtraAudiencesPaths = nil },
			map[string][2]string{"OAUTH2P-003": {"fail", "AUDIENCE"}, "OOB-005": {"fail", "SESSION_NOT_ACCEPTED"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := profile.Get(tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			broken, _ := profile.Get(tc.profile)
			tc.breakIt(broken)
			s := startProfile(t, broken, Options{})
			tg := s.Target()
			tg.Profile = want
			env := checks.NewEnv(tg)
			for id, w := range tc.want {
				c, ok := checks.Get(id)
				if !ok {
					t.Fatalf("no check %s", id)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				r := checks.RunOne(ctx, env, c, time.Minute)
				cancel()
				if string(r.Status) != w[0] || string(r.Reason) != w[1] {
					t.Errorf("%s: got %s %s (%s), want %s %s", id, r.Status, r.Reason, r.Message, w[0], w[1])
				}
			}
			// and the unbroken profile passes them: the verdicts above come from the misconfiguration
			ok := startProfile(t, want, Options{})
			envOK := checks.NewEnv(ok.Target())
			for id := range tc.want {
				c, _ := checks.Get(id)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				r := checks.RunOne(ctx, envOK, c, time.Minute)
				cancel()
				if exp := checks.ExpectedStatus(ok.Target(), c); r.Status != exp {
					t.Errorf("%s on the unbroken %s: got %s %s (%s), want %s", id, tc.profile, r.Status, r.Reason, r.Message, exp)
				}
			}
		})
	}
}
