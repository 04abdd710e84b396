package checks

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-authcheck/kfp-authcheck/checks/misconfig"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// brokenStack starts a stack from a deliberately misconfigured copy of a profile, but hands the checks the
// original profile's expectations: exactly what happens when an operator's deployment drifts from its
// distribution's defaults.
func brokenStack(t *testing.T, name string, breakIt func(p *profile.Profile)) *Env {
	t.Helper()
	return brokenStackWith(t, name, breakIt, embedded.Options{})
}

// brokenStackWith is brokenStack with the stack's options.
func brokenStackWith(t *testing.T, name string, breakIt func(p *profile.Profile), opts embedded.Options) *Env {
	t.Helper()
	want, err := profile.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	broken, _ := profile.Get(name)
	breakIt(broken)
	s, err := embedded.Start(context.Background(), broken, opts)
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

// TestMisconfigurationsAreCaught runs the embedded tier's cases of the misconfiguration table (checks/misconfig,
// the table the catalogue's cross-check reads): each broken stack must get the verdicts the case names, and the
// unbroken profile must get what it expects of those checks, so the verdict comes from the misconfiguration.
func TestMisconfigurationsAreCaught(t *testing.T) {
	for _, tc := range misconfig.Cases {
		if !runsHere(tc) {
			continue
		}
		t.Run(tc.Name, func(t *testing.T) {
			if tc.Mutation != "" {
				restore, err := mutate.Enable(mutate.Name(tc.Mutation))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(restore)
			}
			env := caseStack(t, tc, true)
			if tc.Describe != nil {
				tc.Describe(env.Target.Profile)
			}
			if tc.Before != nil {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := tc.Before(ctx, misconfig.Hook{Target: env.Target, Cleanup: t.Cleanup, Stand: embeddedStand{t}}); err != nil {
					t.Fatalf("before: %v", err)
				}
			}
			for _, id := range sortedIDs(tc.Want) {
				w := tc.Want[id]
				r := runCheck(t, env, id)
				if r.Status != w.Status || r.Reason != w.Reason || !strings.Contains(r.Message, w.Contains) {
					t.Errorf("%s: got %s %s (%s), want %s %s containing %q", id, r.Status, r.Reason, r.Message, w.Status, w.Reason, w.Contains)
				} else if tc.Mutation != "" {
					t.Logf("mutation %s: killed by %s (%s %s)", tc.Mutation, id, r.Status, r.Reason)
				}
			}
			if fc := env.CloseFixtures(); fc != nil && fc.Error != "" {
				t.Errorf("fixtures: %+v", fc)
			}
			if tc.After != nil {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := tc.After(ctx, misconfig.Hook{Target: env.Target, Cleanup: t.Cleanup}); err != nil {
					t.Errorf("after: %v", err)
				}
			}
		})
	}
	// The unbroken profiles get what they expect of the same checks: one stack per profile, and a stack of its
	// own for an exclusive check (it moves its stack's clock, which would change the verdicts after it).
	shared := map[string]*Env{}
	for _, tc := range misconfig.Cases {
		if !runsHere(tc) {
			continue
		}
		for _, id := range sortedIDs(tc.Want) {
			c, _ := Get(id)
			env := shared[tc.Profile]
			switch {
			case c.Exclusive || tc.Base != nil:
				env = caseStack(t, tc, false)
			case env == nil:
				env = brokenStack(t, tc.Profile, func(*profile.Profile) {})
				shared[tc.Profile] = env
			}
			if r, exp := runCheck(t, env, id), ExpectedStatus(env.Target, c); r.Status != exp {
				t.Errorf("%s on the unbroken %s: got %s %s (%s), want %s", id, tc.Profile, r.Status, r.Reason, r.Message, exp)
			}
		}
	}
}

// caseStack starts the case's deployment (its Base, and with broken its Break) and hands the checks its Base
// as the description.
func caseStack(t *testing.T, tc misconfig.Case, broken bool) *Env {
	t.Helper()
	var opts embedded.Options
	if broken {
		opts.GatewayCertHost = tc.GatewayCertHost
	}
	env := brokenStackWith(t, tc.Profile, func(p *profile.Profile) {
		if tc.Base != nil {
			tc.Base(p)
		}
		if broken && tc.Break != nil {
			tc.Break(p)
		}
	}, opts)
	if tc.Base != nil {
		tc.Base(env.Target.Profile)
	}
	return env
}

// MutateEnv set to 1 runs every mutation case of the table (make mutate); otherwise only those marked Smoke.
const MutateEnv = "KFP_AUTHCHECK_MUTATE"

func runsHere(tc misconfig.Case) bool {
	return tc.On(misconfig.Embedded) && (tc.Mutation == "" || tc.Smoke || os.Getenv(MutateEnv) == "1")
}

func sortedIDs(m map[string]misconfig.Outcome) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// embeddedStand makes the stand-ins a case asks for on the embedded tier.
type embeddedStand struct{ t *testing.T }

func (s embeddedStand) UIBelievingHeaders(_ context.Context, tg *target.Target) (string, error) {
	bare, err := components.InClusterKFP(tg.Profile, tg.Kube, true, "test")
	if err != nil {
		return "", err
	}
	ui := httptest.NewServer(bare)
	s.t.Cleanup(ui.Close)
	return ui.URL, nil
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

// TestUnnamedIdentityIsNotAPass: where the API's refusal in a foreign namespace names no user, DEX-LOCAL-006 and
// DEX-LDAP-001 cannot see the identity the API gives the session; they say so (warn) instead of passing.
func TestUnnamedIdentityIsNotAPass(t *testing.T) {
	for _, c := range []struct{ profile, check string }{{"kubeflow", "DEX-LOCAL-006"}, {"deploykf", "DEX-LDAP-001"}} {
		env := brokenStack(t, c.profile, func(*profile.Profile) {})
		gw, err := url.Parse(target.Origin(env.Target.PipelineURL))
		if err != nil {
			t.Fatal(err)
		}
		// The same gateway, with "User '...'" cut out of every 403 body (cookies are per host, not per port).
		proxy := httputil.NewSingleHostReverseProxy(gw)
		proxy.Transport = env.HTTPClient().Transport
		proxy.ModifyResponse = func(r *http.Response) error {
			if r.StatusCode != http.StatusForbidden {
				return nil
			}
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return err
			}
			r.Body.Close()
			body = regexp.MustCompile(`User '[^']*'`).ReplaceAll(body, []byte("The caller"))
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			r.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		}
		front := httptest.NewServer(proxy)
		t.Cleanup(front.Close)
		var r result.Result
		if c.check == "DEX-LDAP-001" {
			// The LDAP login runs against the gateway itself (https on deployKF); the session is then used
			// through the rewriting front, as DEX-LDAP-001's verification does.
			u, err := env.FirstUser("ldap")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, _, err := env.Login(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			env.Target.PipelineURL = front.URL + strings.TrimPrefix(env.Target.PipelineURL, gw.String())
			_, bad := verifySession(ctx, env, s, u)
			if bad == nil {
				t.Fatalf("%s: an unnamed identity passed", c.check)
			}
			r = *bad
		} else {
			env.Target.PipelineURL = front.URL + strings.TrimPrefix(env.Target.PipelineURL, gw.String())
			r = runCheck(t, env, c.check)
		}
		if r.Status != result.Warn || !strings.Contains(r.Message, "names no user") {
			t.Errorf("%s with an unnamed identity: got %s %s (%s), want warn naming the unknown identity", c.check, r.Status, r.Reason, r.Message)
		}
	}
}
