package checks

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// brokenStack starts a stack from a deliberately misconfigured copy of a profile, but hands the checks the
// original profile's expectations: exactly what happens when an operator's deployment drifts from its
// distribution's defaults.
func brokenStack(t *testing.T, name string, breakIt func(p *profile.Profile)) *Env {
	t.Helper()
	want, err := profile.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	broken, _ := profile.Get(name)
	breakIt(broken)
	s, err := embedded.Start(context.Background(), broken, embedded.Options{})
	if err != nil {
		t.Fatalf("start broken %s stack: %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	tg := s.Target()
	tg.Profile = want
	return NewEnv(tg)
}

func runCheck(t *testing.T, env *Env, id string) result.Result {
	t.Helper()
	c, ok := Get(id)
	if !ok {
		t.Fatalf("no check %s", id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return RunOne(ctx, env, c, time.Minute)
}

func TestMisconfigurationsAreCaught(t *testing.T) {
	for _, tc := range []struct {
		name, profile, check string
		breakIt              func(p *profile.Profile)
		status               result.Status
		reason               result.Reason
	}{
		{"api routes dropped: the API answers with the sign-in page", "kubeflow", "SETUP-001",
			func(p *profile.Profile) { p.Gateway.APIRoutes = nil; p.Gateway.DetectAJAX = false },
			result.Fail, result.GatewayConfig},
		{"api routes dropped on deployKF: each of the UI's calls sets a CSRF cookie (deployKF#96)", "deploykf", "OAUTH2P-001",
			func(p *profile.Profile) { p.Gateway.APIRoutes = nil },
			result.Fail, result.GatewayConfig},
		{"api routes dropped on kubeflow: the UI's calls get the sign-in page", "kubeflow", "OAUTH2P-001",
			func(p *profile.Profile) { p.Gateway.APIRoutes = nil },
			result.Fail, result.GatewayConfig},
		{"direct redirect where the profile expects the sign-in page", "kubeflow", "DEX-LOCAL-001",
			func(p *profile.Profile) { p.Gateway.SkipProviderButton = true },
			result.Fail, result.GatewayConfig},
		{"approval screen switched on", "kubeflow", "DEX-LOCAL-004",
			func(p *profile.Profile) { p.Dex.SkipApprovalScreen = false },
			result.Warn, result.ApprovalScreen},
		{"approval screen changes the redirect chain", "kubeflow", "DEX-LOCAL-002",
			func(p *profile.Profile) { p.Dex.SkipApprovalScreen = false },
			result.Warn, result.GatewayConfig},
		{"a Secure session cookie over plain http", "kubeflow", "DEX-LOCAL-008",
			func(p *profile.Profile) { p.Gateway.CookieSecure = true },
			result.Fail, result.CookieFlags},
		{"the session cookie readable from scripts (cookie_httponly: false)", "kubeflow", "OAUTH2P-007",
			func(p *profile.Profile) { p.Gateway.CookieHTTPOnly = false },
			result.Fail, result.CookieFlags},
		{"a cookie_path the callback is not under: the CSRF cookie does not come back", "kubeflow", "OAUTH2P-002",
			func(p *profile.Profile) { p.Gateway.CookiePath = "/pipeline" },
			result.Fail, result.CookieFlags},
		{"whitelist_domains lets rd name another host: an open redirect", "kubeflow", "OAUTH2P-006",
			func(p *profile.Profile) { p.Gateway.WhitelistDomains = []string{".invalid"} },
			result.Fail, result.OpenRedirect},
		{"the session cookie renamed", "kubeflow", "DEX-LOCAL-005",
			func(p *profile.Profile) { p.Gateway.CookieName = "_oauth2_proxy" },
			result.Warn, result.GatewayConfig},
		{"the user owns no namespace: the cookie cannot list experiments", "kubeflow", "DEX-LOCAL-006",
			func(p *profile.Profile) { p.KFP.Namespaces[0].Owner = "someone-else@example.com" },
			result.Fail, result.K8sRBAC},
		{"m2m-dex-only: the gateway lacks the Kubernetes issuers", "kubeflow-1.10-kind", "M2M-002",
			func(p *profile.Profile) { p.Gateway.Mesh.JWTRules = p.Gateway.Mesh.JWTRules[:1] },
			result.Fail, result.GatewayConfig},
		{"m2m-dex-only: a ServiceAccount token cannot list at the gateway", "kubeflow-1.10-kind", "M2M-001",
			func(p *profile.Profile) { p.Gateway.Mesh.JWTRules = p.Gateway.Mesh.JWTRules[:1] },
			result.Fail, result.GatewayConfig},
		{"m2m-dex-only's gateway accepts cluster tokens after all: the release refuses them", "kubeflow-1.10", "M2M-001",
			addKubeIssuers, result.Fail, result.GatewayConfig},
		{"m2m-dex-only's gateway has a ServiceAccount issuer rule the release does not ship", "kubeflow-1.10", "M2M-002",
			addKubeIssuers, result.Fail, result.GatewayConfig},
		{"a multi-user deployment without a gateway", "kubeflow", "SETUP-001",
			func(p *profile.Profile) { p.MultiUser = false; p.Gateway = nil; p.Dex = nil; p.Users = nil },
			result.Fail, result.Unsecured},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := brokenStack(t, tc.profile, tc.breakIt)
			r := runCheck(t, env, tc.check)
			if r.Status != tc.status || r.Reason != tc.reason {
				t.Fatalf("%s: got %s %s (%s), want %s %s", tc.check, r.Status, r.Reason, r.Message, tc.status, tc.reason)
			}
		})
	}
}

func TestWrongPasswordIsInvalidCredentialsOnEveryProfile(t *testing.T) {
	for _, name := range []string{"kubeflow", "kubeflow-1.8", "deploykf"} {
		t.Run(name, func(t *testing.T) {
			env := brokenStack(t, name, func(p *profile.Profile) {})
			env.Target.Users[0].Password += "-stale"
			r := runCheck(t, env, "DEX-LOCAL-006")
			if r.Status != result.Fail || r.Reason != result.InvalidCredentials {
				t.Fatalf("got %s %s: %s", r.Status, r.Reason, r.Message)
			}
		})
	}
}

func TestSelectResolvesIDsFamiliesAndGlobs(t *testing.T) {
	got, err := Select([]string{"setup", "DEX-LOCAL-00[12]"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	want := []string{"SETUP-001", "SETUP-002", "SETUP-003", "DEX-LOCAL-001", "DEX-LOCAL-002"}
	if len(ids) != len(want) {
		t.Fatalf("got %v, want %v", ids, want)
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("got %v, want %v", ids, want)
		}
	}
	if _, err := Select([]string{"DEX-LOCL"}); err == nil {
		t.Fatal("a typo must not select nothing silently")
	}
}

func TestEveryCheckHasReferencesAndAKnownFamily(t *testing.T) {
	for _, c := range All() {
		if len(c.References) == 0 {
			t.Errorf("%s has no references", c.ID)
		}
		if familyRank(c.Family) == len(Families) {
			t.Errorf("%s has unknown family %q", c.ID, c.Family)
		}
		if c.Severity != Must && c.Severity != Should {
			t.Errorf("%s has severity %q", c.ID, c.Severity)
		}
	}
}

func TestPanickingCheckIsAnInternalErrorNotACrash(t *testing.T) {
	env := brokenStack(t, "standalone", func(p *profile.Profile) {})
	c := &Check{ID: "TEST-001", Family: "SETUP", Run: func(context.Context, *Env) result.Result { panic("boom") }}
	r := RunOne(context.Background(), env, c, time.Second)
	if r.Status != result.Error || r.Reason != result.Internal {
		t.Fatalf("got %s %s", r.Status, r.Reason)
	}
}

// TestPrivatePipelineChecks shows ISO-004 both ways: a KFP with the GHSA-v83x-544f-ph2r fix passes; the
// profile's own KFP (before the fix) creates the cross-namespace run and gets the warning.
func TestPrivatePipelineChecks(t *testing.T) {
	fixed := brokenStack(t, "kubeflow", func(p *profile.Profile) { p.KFP.AuthorizePipelineReferences = true })
	if r := runCheck(t, fixed, "ISO-004"); r.Status != result.Pass {
		t.Fatalf("with the fix: got %s %s: %s (%s)", r.Status, r.Reason, r.Message, r.Actual)
	}
	before := brokenStack(t, "kubeflow", func(p *profile.Profile) {})
	if r := runCheck(t, before, "ISO-004"); r.Status != result.Warn || r.Reason != result.Unsecured {
		t.Fatalf("before the fix: got %s %s: %s (%s)", r.Status, r.Reason, r.Message, r.Actual)
	}
}

// TestRBAC002FailsWhenKubeflowEditGrantsNoPipelines: the cross-namespace RoleBinding to kubeflow-edit is made,
// but the cluster lacks KFP's kubeflow-pipelines-edit ClusterRole (KFP's multi-user view-edit-cluster-roles.yaml
// never applied), so to KFP the edit binding is missing: kubeflow-edit still aggregates the view rules and not
// the write ones. RBAC-002 fails with K8S_RBAC; RBAC-001 (no binding at all) still passes. This runs against the
// embedded tier's Kubernetes stand-in (mocks/kube, which reconciles ClusterRole aggregation as the controller
// does): the local tier's KFP stand-in does not ask the real kube-apiserver yet.
func TestRBAC002FailsWhenKubeflowEditGrantsNoPipelines(t *testing.T) {
	env := brokenStack(t, "kubeflow", func(p *profile.Profile) {})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if r := runCheck(t, env, "RBAC-002"); r.Status != result.Pass {
		t.Fatalf("RBAC-002 before the break: %s %s (%s)", r.Status, r.Reason, r.Message)
	}
	if err := env.Target.Kube.RbacV1().ClusterRoles().Delete(ctx, "kubeflow-pipelines-edit", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r := runCheck(t, env, "RBAC-002")
	if r.Status != result.Fail || r.Reason != result.K8sRBAC || !strings.Contains(r.Message, "kubeflow-edit") {
		t.Fatalf("RBAC-002: got %s %s (%s), want fail K8S_RBAC naming kubeflow-edit", r.Status, r.Reason, r.Message)
	}
	if r := runCheck(t, env, "RBAC-001"); r.Status != result.Pass {
		t.Fatalf("RBAC-001 after the break: %s %s (%s)", r.Status, r.Reason, r.Message)
	}
	if fc := env.CloseFixtures(); fc == nil || fc.Error != "" {
		t.Fatalf("fixtures: %+v", fc)
	}
}

// TestSA010FailsForANamespaceThatPredatesItsProfile: deployKF#186, a namespace the profile controller did not set
// up: without default-editor's RoleBinding the runtime permissions are denied (K8S_RBAC, naming them); without
// the ServiceAccount the check says so.
func TestSA010FailsForANamespaceThatPredatesItsProfile(t *testing.T) {
	env := brokenStack(t, "kubeflow", func(p *profile.Profile) {})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if r := runCheck(t, env, "SA-010"); r.Status != result.Pass {
		t.Fatalf("SA-010 before the break: %s %s (%s)", r.Status, r.Reason, r.Message)
	}
	ns := env.Target.Users[0].Namespace
	if err := env.Target.Kube.RbacV1().RoleBindings(ns).Delete(ctx, "default-editor", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r := runCheck(t, env, "SA-010")
	if r.Status != result.Fail || r.Reason != result.K8sRBAC || !strings.Contains(r.Message, "denied get pods, watch pods, patch pods") ||
		!strings.Contains(r.Message, "deployKF#186") {
		t.Fatalf("SA-010 without the RoleBinding: got %s %s (%s)", r.Status, r.Reason, r.Message)
	}
	if err := env.Target.Kube.CoreV1().ServiceAccounts(ns).Delete(ctx, "default-editor", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := runCheck(t, env, "SA-010"); r.Status != result.Fail || !strings.Contains(r.Message, "no ServiceAccount default-editor") {
		t.Fatalf("SA-010 without the ServiceAccount: got %s %s (%s)", r.Status, r.Reason, r.Message)
	}
}

// TestRunServiceAccountCheck: ISO-005 warns where KFP stores a caller-chosen serviceAccountName (the modelled
// releases), and passes where the PR#14181 fix refuses it: not allow-listed, or allow-listed but the caller has
// no "use" on it (kubeflow-edit grants none).
func TestRunServiceAccountCheck(t *testing.T) {
	before := brokenStack(t, "kubeflow", func(p *profile.Profile) {})
	if r := runCheck(t, before, "ISO-005"); r.Status != result.Warn || r.Reason != result.Unsecured || !strings.Contains(r.Actual, `"default-viewer"`) {
		t.Fatalf("before the fix: got %s %s: %s (%s)", r.Status, r.Reason, r.Message, r.Actual)
	}
	for name, allowed := range map[string][]string{"not allow-listed": nil, "allow-listed, no use permission": {"default-viewer"}} {
		fixed := brokenStack(t, "kubeflow", func(p *profile.Profile) {
			p.KFP.AuthorizeServiceAccounts, p.KFP.AllowedServiceAccounts = true, allowed
		})
		if r := runCheck(t, fixed, "ISO-005"); r.Status != result.Pass || !strings.Contains(r.Message, "refused with 403") {
			t.Errorf("%s: got %s %s: %s (%s)", name, r.Status, r.Reason, r.Message, r.Actual)
		}
	}
}

// TestHostMatrixReadsTheUIPolicy: SA-004 passes where ml-pipeline-ui admits an Authorization header without an
// identity header (Kubeflow 1.9), warns MESH_AUTHZ where it admits the gateway only (1.8), and fails where the
// UI answers otherwise.
func TestHostMatrixReadsTheUIPolicy(t *testing.T) {
	for _, c := range []struct {
		profile, policy string
		status          result.Status
		reason          result.Reason
	}{
		{"kubeflow", "authorization-without-userid", result.Pass, ""},
		{"kubeflow", "gateway-only", result.Warn, result.MeshAuthz},
		{"kubeflow-1.8", "gateway-only", result.Warn, result.MeshAuthz},
	} {
		env := brokenStack(t, c.profile, func(p *profile.Profile) { p.KFP.UIPolicy = c.policy })
		if env.Target.InClusterUIURL == "" {
			t.Fatalf("%s: no in-cluster UI address", c.profile)
		}
		r := runCheck(t, env, "SA-004")
		if r.Status != c.status || r.Reason != c.reason || !strings.Contains(r.Actual, "ml-pipeline-ui") {
			t.Errorf("%s with %s: got %s %s (%s; %s)", c.profile, c.policy, r.Status, r.Reason, r.Message, r.Actual)
		}
	}
	// An address where no UI answers: the check says the UI is unreachable, it does not pass.
	env := brokenStack(t, "kubeflow", func(p *profile.Profile) {})
	env.Target.InClusterUIURL = "http://127.0.0.1:1"
	if r := runCheck(t, env, "SA-004"); r.Status == result.Pass {
		t.Errorf("an unreachable ml-pipeline-ui passed: %s", r.Message)
	}
}

// TestISO001CoversTheUIAddress: a forged identity header refused at ml-pipeline but believed at ml-pipeline-ui
// (a UI without its AuthorizationPolicy) fails ISO-001 with UNSECURED, naming the UI.
func TestISO001CoversTheUIAddress(t *testing.T) {
	env := brokenStack(t, "kubeflow", func(p *profile.Profile) {})
	if r := runCheck(t, env, "ISO-001"); r.Status != result.Pass || !strings.Contains(r.Actual, "ml-pipeline-ui: 403") {
		t.Fatalf("with the policy: %s %s (%s)", r.Status, r.Reason, r.Actual)
	}
	bare, err := components.InClusterKFP(env.Target.Profile, env.Target.Kube, true, "test")
	if err != nil {
		t.Fatal(err)
	}
	ui := httptest.NewServer(bare)
	defer ui.Close()
	env.Target.InClusterUIURL = ui.URL
	if r := runCheck(t, env, "ISO-001"); r.Status != result.Fail || r.Reason != result.Unsecured || !strings.Contains(r.Message, "ml-pipeline-ui accepted") {
		t.Errorf("a UI that believes the header: %s %s (%s)", r.Status, r.Reason, r.Message)
	}
}

// addKubeIssuers gives the gateway the m2m-dex-and-kind overlay's ServiceAccount issuer rules (not the m2m
// capability), so a stack of an m2m-dex-only release accepts cluster tokens it should refuse.
func addKubeIssuers(p *profile.Profile) {
	for _, iss := range []string{"https://kubernetes.default.svc.cluster.local", "https://kubernetes.default.svc"} {
		p.Gateway.Mesh.JWTRules = append(p.Gateway.Mesh.JWTRules, profile.JWTRule{Issuer: iss,
			ClaimToHeaders: []profile.ClaimToHeader{{Header: "kubeflow-userid", Claim: "sub"}}})
	}
}

// TestM2MOnM2MDexOnlyReleases: on Kubeflow 1.9 to 1.11's default install (m2m-dex-only) the M2M checks run
// and pass on the gateway's 401 refusal of cluster tokens, as the releases ship it.
func TestM2MOnM2MDexOnlyReleases(t *testing.T) {
	for _, name := range []string{"kubeflow-1.9", "kubeflow-1.10", "kubeflow-1.11"} {
		t.Run(name, func(t *testing.T) {
			env := brokenStack(t, name, func(*profile.Profile) {})
			if !m2mRefused(env.Target) {
				t.Fatalf("%s: the profile does not say its gateway refuses cluster tokens", name)
			}
			for _, id := range []string{"M2M-001", "M2M-002", "M2M-004", "M2M-005"} {
				if r := runCheck(t, env, id); r.Status != result.Pass {
					t.Errorf("%s: %s %s: %s", id, r.Status, r.Reason, r.Message)
				}
			}
		})
	}
}
