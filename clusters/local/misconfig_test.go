package local

import (
	"context"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
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
		opts          Options
	}{
		{"Dex shows the approval screen (skipApprovalScreen: false)", "kubeflow",
			func(p *profile.Profile) { p.Dex.SkipApprovalScreen = false },
			map[string][2]string{"DEX-LOCAL-004": {"warn", "APPROVAL_SCREEN"}, "DEX-LOCAL-002": {"warn", "GATEWAY_CONFIG"}}, Options{}},
		{"oauth2-proxy without oidc_extra_audiences for the SDK client", "deploykf",
			func(p *profile.Profile) { p.Gateway.ExtraAudiences = nil; p.Gateway.ExtraAudiencesPaths = nil },
			map[string][2]string{"OAUTH2P-003": {"fail", "AUDIENCE"}, "OOB-005": {"fail", "SESSION_NOT_ACCEPTED"}}, Options{}},
		// deployKF#96: without api_routes the UI's fetch() calls (Accept: */*) start a login each, and each 302 sets
		// a per-request CSRF cookie; kubeflow's sign-in page (skip_provider_button false) sets none.
		{"oauth2-proxy without api_routes", "deploykf",
			func(p *profile.Profile) { p.Gateway.APIRoutes = nil },
			map[string][2]string{"OAUTH2P-001": {"fail", "GATEWAY_CONFIG"}}, Options{}},
		{"oauth2-proxy without api_routes, sign-in page", "kubeflow",
			func(p *profile.Profile) { p.Gateway.APIRoutes = nil },
			map[string][2]string{"OAUTH2P-001": {"fail", "GATEWAY_CONFIG"}}, Options{}},
		{"oauth2-proxy with cookie_httponly = false", "kubeflow",
			func(p *profile.Profile) { p.Gateway.CookieHTTPOnly = false },
			map[string][2]string{"OAUTH2P-007": {"fail", "COOKIE_FLAGS"}}, Options{}},
		// A cookie_path the callback is not under: the CSRF cookie never comes back, and the real oauth2-proxy's
		// callback answers 403 "Unable to find a valid CSRF token" (manifests#2664's symptom). (cookie_secure over
		// http would not show it here: browsers and Go's jar treat loopback as a secure origin.)
		{"oauth2-proxy with cookie_path = /pipeline", "kubeflow",
			func(p *profile.Profile) { p.Gateway.CookiePath = "/pipeline" },
			map[string][2]string{"OAUTH2P-002": {"fail", "COOKIE_FLAGS"}}, Options{}},
		// whitelist_domains covering the rd's host: the real oauth2-proxy sends the browser there after the login.
		{"oauth2-proxy with whitelist_domains = [.invalid]", "deploykf",
			func(p *profile.Profile) { p.Gateway.WhitelistDomains = []string{".invalid"} },
			map[string][2]string{"OAUTH2P-006": {"fail", "OPEN_REDIRECT"}}, Options{}},
		// Identity-header smuggling: the part of the gateway that sets kubeflow-userid from the verified session (the
		// mesh or a Lua filter behind the real oauth2-proxy) keeps a header the client sent itself.
		{"the gateway passes the client's own kubeflow-userid", "deploykf",
			func(p *profile.Profile) { p.Gateway.PassClientIdentityHeader = true },
			map[string][2]string{"ISO-008": {"fail", "UNSECURED"}}, Options{}},
		// m2m-dex-only: the gateway has the Dex rule only, so the real kube-apiserver's ServiceAccount tokens meet
		// "Jwt issuer is not configured" (the Istio gateway stand-in is the gateway here too: no real Istio).
		{"the gateway lacks the ServiceAccount issuer (m2m-dex-only)", "kubeflow",
			func(p *profile.Profile) { p.Gateway.Mesh.JWTRules = p.Gateway.Mesh.JWTRules[:1] },
			map[string][2]string{"M2M-002": {"fail", "GATEWAY_CONFIG"}, "M2M-001": {"fail", "GATEWAY_CONFIG"}},
			Options{Kube: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := profile.Get(tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			broken, _ := profile.Get(tc.profile)
			tc.breakIt(broken)
			s := startProfile(t, broken, tc.opts)
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
			ok := startProfile(t, want, tc.opts)
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

// TestMissingWriteRulesFailRBAC002OnKubeAPIServer: the cluster lacks KFP's kubeflow-pipelines-edit ClusterRole
// (view-edit-cluster-roles.yaml never applied), so a RoleBinding to kubeflow-edit grants no KFP write rights.
// Against the real kube-apiserver, with the KFP API stand-in asking it, RBAC-002 fails with K8S_RBAC while
// RBAC-001 still passes.
func TestMissingWriteRulesFailRBAC002OnKubeAPIServer(t *testing.T) {
	requireTools(t, "etcd", "kube-apiserver")
	p, err := profile.Get("kubeflow")
	if err != nil {
		t.Fatal(err)
	}
	s := startProfile(t, p, Options{Kube: true})
	tg := s.Target()
	env := checks.NewEnv(tg)
	run := func(id string) result.Result {
		c, ok := checks.Get(id)
		if !ok {
			t.Fatalf("no check %s", id)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		return checks.RunOne(ctx, env, c, 2*time.Minute)
	}
	if r := run("RBAC-002"); r.Status != result.Pass {
		t.Fatalf("RBAC-002 before the break: %s %s (%s)", r.Status, r.Reason, r.Message)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tg.Kube.RbacV1().ClusterRoles().Delete(ctx, "kubeflow-pipelines-edit", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The aggregation stand-in recomputes kubeflow-edit without the write rules; wait until kube-apiserver's
	// authorizer shows it (a cluster's controller takes a moment too).
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		cr, err := tg.Kube.RbacV1().ClusterRoles().Get(ctx, "kubeflow-edit", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, rule := range cr.Rules {
			if slices.Contains(rule.APIGroups, "pipelines.kubeflow.org") && slices.Contains(rule.Resources, "experiments") &&
				slices.Contains(rule.Verbs, "create") {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("kubeflow-edit kept its write rules: %v", err)
	}
	if r := run("RBAC-002"); r.Status != result.Fail || r.Reason != result.K8sRBAC {
		t.Errorf("RBAC-002 after the break: got %s %s (%s), want fail K8S_RBAC", r.Status, r.Reason, r.Message)
	}
	if r := run("RBAC-001"); r.Status != result.Pass {
		t.Errorf("RBAC-001 after the break: %s %s (%s)", r.Status, r.Reason, r.Message)
	}
	if fc := env.CloseFixtures(); fc == nil || fc.Error != "" {
		t.Errorf("fixtures: %+v", fc)
	}
}
