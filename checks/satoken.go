package checks

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/kfp-authcheck/kfp-authcheck/auth/satoken"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/atomicfile"
	"github.com/kfp-authcheck/kfp-authcheck/internal/kfpsar"
	"github.com/kfp-authcheck/kfp-authcheck/internal/rbaceval"
	"github.com/kfp-authcheck/kfp-authcheck/internal/timing"
	"github.com/kfp-authcheck/kfp-authcheck/kfpapi"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// The ServiceAccount-token checks talk to the KFP API in-cluster (in_cluster_api_url, no gateway) with tokens
// minted through TokenRequest for ServiceAccounts of fixture namespaces each check makes for itself.
var saNeeds = []target.Capability{target.CapMultiUser, target.CapKube, target.CapInCluster}

func init() {
	register(&Check{ID: "SA-001", Family: "SA", Severity: Must, Needs: saNeeds,
		Title:      "a projected token (aud pipelines.kubeflow.org, KF_PIPELINES_SA_TOKEN_PATH) lists and creates in its own namespace",
		References: []string{"pipelines#5138", "pipelines#8087"},
		Run:        checkProjectedTokenOwnNamespace})
	register(&Check{ID: "SA-003", Family: "SA", Severity: Must, Needs: saNeeds,
		Title:      "explicit credentials send Authorization; none give 401/403, never success",
		References: []string{"elyra#2358", "website#3241"},
		Run:        checkExplicitCredentials})
	register(&Check{ID: "SA-004", Family: "SA", Severity: Must, Needs: saNeeds,
		Title:      "host matrix: the token works at every in-cluster KFP address the target names (ml-pipeline:8888, ml-pipeline-ui:80)",
		References: []string{"pipelines#9774", "website#3407", "manifests#1569"},
		Run:        checkHostMatrix})
	register(&Check{ID: "SA-005", Family: "SA", Severity: Must, Needs: saNeeds,
		Title:      "a default-audience token sent to the in-cluster API is refused with 401 and the audience reason",
		References: []string{"KFP TokenReviewAuthenticator", "pipelines#5138"},
		Run:        checkDefaultAudienceRefused})
	register(&Check{ID: "SA-011", Family: "SA", Severity: Must, Needs: append([]target.Capability{target.CapClock}, saNeeds...), Exclusive: true,
		Title:      "an expired ServiceAccount token is refused with 401, never 500",
		References: []string{"CHECKS.md additions"},
		Run:        checkExpiredToken})
	register(&Check{ID: "SA-012", Family: "SA", Severity: Must, Needs: saNeeds,
		Title:      "an altered token, or one signed by an unknown key, is refused with 401",
		References: []string{"CHECKS.md additions"},
		Run:        checkForgedTokens})
}

// saFixture is a pair of Kubeflow Profile namespaces (ns1, ns2) with their ServiceAccounts: a check's own
// (newSAFixture), which it may change (bind, unbind, a probe pod), or its view of the run's shared pair
// (sharedSAFixture), which no check changes. The token directory is always the check's own; the namespaces are
// removed when the run ends.
type saFixture struct {
	env      *Env
	kube     *fixtures.Kube
	ns1, ns2 string
	dir      string
	// shared: the run's pair, read by several checks at once; bind, unbind and inPod refuse it
	// (errSharedFixture) and cleanup leaves it to the end of the run.
	shared bool
}

// errSharedFixture refuses a change to the run's shared fixture: a check that changes its fixture makes its own
// (newSAFixture), so that no verdict depends on which checks ran before it.
var errSharedFixture = errors.New("the run's shared Profile namespaces are read-only to checks; a check that changes its fixture makes its own")

// sharedFixtureTimeout bounds the creation of the run's shared fixture, which runs detached from the deadline of
// the check that happened to ask first.
const sharedFixtureTimeout = time.Minute

// sharedFixtures is the run-scoped state behind sharedSAFixture: the pair is made once, by the first check that
// asks, and every other check waits for that one outcome (the same namespaces, or the same error).
type sharedFixtures struct {
	once sync.Once
	f    *saFixture
	err  error
}

// sharedSAFixture is the run's one pair of Profile namespaces for the checks that only read them (mint tokens,
// call KFP as their ServiceAccounts, create KFP objects in them): made once per run on first use, never changed
// by a check, removed with the run's other fixtures when the run ends (Env.CloseFixtures). Each caller gets its
// own copy, so its token files stay its own. A check that waited for another to make the pair records the
// wait in its timing.
func sharedSAFixture(ctx context.Context, env *Env) (*saFixture, error) {
	s := env.sharedFixtures()
	start := time.Now()
	made := false
	s.once.Do(func() {
		made = true
		// Detached from this check's deadline (its timing recorder is kept: it makes the round trips), so that
		// a check cut off early cannot leave every other check without its fixture.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedFixtureTimeout)
		defer cancel()
		s.f, s.err = makeSAFixture(sctx, env)
		if s.err == nil {
			s.f.shared = true
			s.err = s.f.awaitOwnBindings(sctx)
		}
	})
	if !made {
		if rec := timing.From(ctx); rec != nil {
			rec.Wait(time.Since(start))
		}
	}
	if s.err != nil {
		return nil, s.err
	}
	view := *s.f
	view.dir = ""
	return &view, nil
}

// newSAFixture makes a check's own pair of Profile namespaces, for a check that changes them.
func newSAFixture(ctx context.Context, env *Env) (*saFixture, error) {
	return makeSAFixture(ctx, env)
}

// fixtureClusterRoles are the ClusterRoles the fixture's RoleBindings name (a Kubeflow Profile's and the
// cross-namespace grants).
var fixtureClusterRoles = []string{"kubeflow-admin", "kubeflow-edit", "kubeflow-view"}

// fixtureOwner owns the fixture Profiles; nobody logs in as it.
const fixtureOwner = "kfp-authcheck-owner@example.invalid"

// awaitOwnBindings waits until the cluster's authorizer sees each namespace's default-editor binding (it may list
// experiments in its own namespace), both at once: the checks that read the shared pair start calling KFP as those
// ServiceAccounts at once. A binding that never shows is left for the checks to report, as in bind.
func (f *saFixture) awaitOwnBindings(ctx context.Context) error {
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, ns := range []string{f.ns1, f.ns2} {
		wg.Go(func() {
			errs[i] = awaitSAR(ctx, f.env, "system:serviceaccount:"+ns+":default-editor", ns, "list", true)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// makeSAFixture creates a pair of Profile namespaces owned by fixtureOwner, both at once, while it reads the
// ClusterRoles their bindings name. Those roles are the cluster's: a run never creates them (on a live target a
// missing one is a finding, reported over whatever the creates said; the embedded and local tiers install them
// when their stack starts).
func makeSAFixture(ctx context.Context, env *Env) (*saFixture, error) {
	k := env.Fixtures().New()
	f := &saFixture{env: env, kube: k, ns1: k.Name("ns1"), ns2: k.Name("ns2")}
	var rolesErr error
	var wg sync.WaitGroup
	wg.Go(func() { rolesErr = fixtures.RequireClusterRoles(ctx, env.Target.Kube, fixtureClusterRoles...) })
	err := k.Profiles(ctx, fixtureOwner, f.ns1, f.ns2)
	wg.Wait()
	if rolesErr != nil {
		return nil, rolesErr
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// cleanup removes the check's token files and starts removing a check's own pair in the background, while the
// run's other checks work (the run's end waits for it); the shared pair goes when the run ends
// (Env.CloseFixtures). A check's own pair is never looked at by another check (ISO-009 leaves the run's other
// namespaces out of its audit).
func (f *saFixture) cleanup() {
	if f.dir != "" {
		os.RemoveAll(f.dir)
	}
	if !f.shared {
		f.kube.CleanupLater()
	}
}

// token mints a token for ns/sa; the token is registered with the redactor before anyone can print it.
func (f *saFixture) token(ctx context.Context, ns, sa string, audiences []string, lifetime time.Duration) (string, error) {
	m, err := satoken.Mint(ctx, f.env.Target.Kube, ns, sa, audiences, lifetime)
	if err != nil {
		return "", err
	}
	f.env.Target.Redactor.Add(m.Token)
	return m.Token, nil
}

// bind grants ns2/default-editor a ClusterRole in ns1 through the seed's RoleBinding (edit or view variant) and
// returns once the cluster's authorizer sees the binding: kube-apiserver's RBAC authorizer reads bindings from
// informers, so a SubjectAccessReview right after the write can still see the old state (a few milliseconds on
// loopback, longer on a busy cluster). Both variants grant list, so list is what it waits for; what the role
// grants beyond that is the check's to measure (a kubeflow-edit that lacks KFP's write rules is a finding, not
// a fixture error), and a binding that never shows is left for the check to report too. Unbinding does not
// wait: RBAC-004 measures that.
func (f *saFixture) bind(ctx context.Context, manifest string) error {
	if f.shared {
		return errSharedFixture
	}
	if err := f.kube.Apply(ctx, manifest, map[string]string{"FROM": f.ns2, "TO": f.ns1}); err != nil {
		return err
	}
	user := "system:serviceaccount:" + f.ns2 + ":default-editor"
	err := timing.Until(ctx, bindSettleTimeout, func(ctx context.Context) (bool, error) {
		return f.sar(ctx, user, fixtures.MatrixRow{Group: kfpsar.RBACGroup, Resource: "experiments", Verb: "list"})
	})
	if errors.Is(err, timing.ErrTimeout) {
		return nil // never allowed: the check's own calls will say so
	}
	return err
}

// bindSettleTimeout bounds the wait for a new RoleBinding to show in SubjectAccessReviews.
const bindSettleTimeout = 10 * time.Second

// sar asks the cluster whether user may do row's verb in ns1, with the SubjectAccessReview KFP sends (spec.user
// only, no groups).
func (f *saFixture) sar(ctx context.Context, user string, row fixtures.MatrixRow) (bool, error) {
	allowed, _, err := kfpsar.KubeAuthorizer{Client: f.env.Target.Kube}.Authorize(ctx, user, f.attributes(row))
	return allowed, err
}

// attributes are KFP's SubjectAccessReview attributes for row in ns1.
func (f *saFixture) attributes(row fixtures.MatrixRow) kfpsar.ResourceAttributes {
	return kfpsar.ResourceAttributes{Namespace: f.ns1, Verb: row.Verb, Group: row.Group, Version: kfpsar.RBACVersion,
		Resource: row.Resource, Subresource: row.Subresource}
}

// policy is the fixture's RBAC as the independent evaluator sees it: the objects newSAFixture applied (the
// KubeflowRoles ClusterRoles and both Profiles' bindings), rendered from the same manifests.
func (f *saFixture) policy() (*rbaceval.Policy, error) {
	p := &rbaceval.Policy{}
	for _, m := range []struct {
		file string
		vars map[string]string
	}{
		{fixtures.KubeflowRoles, nil},
		{fixtures.ProfileNamespace, map[string]string{"NAMESPACE": f.ns1, "OWNER": fixtureOwner}},
		{fixtures.ProfileNamespace, map[string]string{"NAMESPACE": f.ns2, "OWNER": fixtureOwner}},
	} {
		docs, err := fixtures.Render(m.file, m.vars)
		if err != nil {
			return nil, err
		}
		if err := p.AddManifest(docs); err != nil {
			return nil, fmt.Errorf("%s: %w", m.file, err)
		}
	}
	return p, nil
}

// policyWith is base with the RoleBinding bind applies for manifest.
func (f *saFixture) policyWith(base *rbaceval.Policy, manifest string) (*rbaceval.Policy, error) {
	docs, err := fixtures.Render(manifest, map[string]string{"FROM": f.ns2, "TO": f.ns1})
	if err != nil {
		return nil, err
	}
	p := base.Clone()
	if err := p.AddManifest(docs); err != nil {
		return nil, fmt.Errorf("%s: %w", manifest, err)
	}
	return p, nil
}

// saUser is the user name of ns2's default-editor, as a TokenReview reports it.
func (f *saFixture) saUser() string { return "system:serviceaccount:" + f.ns2 + ":default-editor" }

func (f *saFixture) unbind(ctx context.Context, manifest string) error {
	if f.shared {
		return errSharedFixture
	}
	name := "allow-" + f.ns2 + "-kubeflow-edit"
	if manifest == fixtures.CrossNamespaceView {
		name = "allow-" + f.ns2 + "-kubeflow-view"
	}
	return f.kube.Delete(ctx, "RoleBinding", f.ns1, name)
}

// tokenFile writes a token where a projected volume would put it (0600, atomically) and returns the path.
func (f *saFixture) tokenFile(token string) (string, error) {
	if f.dir == "" {
		d, err := os.MkdirTemp("", "kfp-authcheck-sa-")
		if err != nil {
			return "", err
		}
		f.dir = d
	}
	p := filepath.Join(f.dir, "token")
	return p, atomicfile.Write(p, []byte(token), 0o600)
}

// inCluster is a KFP client for the in-cluster API that sends token as Bearer ("" sends nothing).
func (e *Env) inCluster(token string) *kfpapi.Client {
	c := &kfpapi.Client{BaseURL: e.Target.InClusterAPIURL, HTTP: e.HTTPClient()}
	if token != "" {
		c.Header = http.Header{"Authorization": {"Bearer " + token}}
	}
	return c
}

// volumeClient is the SDK's ServiceAccountTokenVolumeCredentials: the token file read on every request.
func (e *Env) volumeClient(path string) *kfpapi.Client {
	hc := e.HTTPClient()
	hc.Transport = &satoken.VolumeTransport{Path: path, Base: hc.Transport}
	return &kfpapi.Client{BaseURL: e.Target.InClusterAPIURL, HTTP: hc}
}

// access is what one identity could do in one namespace: list and create experiments.
type access struct {
	listStatus, createStatus int
	listErr, createErr       error
}

func (a access) String() string {
	return fmt.Sprintf("list %d, create %d", a.listStatus, a.createStatus)
}

func probeAccess(ctx context.Context, c *kfpapi.Client, ns string) access {
	var a access
	_, a.listErr = c.ListExperiments(ctx, ns)
	a.listStatus = httpStatus(a.listErr)
	_, a.createErr = c.CreateExperiment(ctx, ns, "kfp-authcheck-"+randomHex(4))
	a.createStatus = httpStatus(a.createErr)
	return a
}

// httpStatus is the HTTP status behind a client error (200 for nil, 0 when nothing came back).
func httpStatus(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var ae *kfpapi.APIError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// transportTrouble turns an error that never reached KFP (unreachable, timeout) into an error result.
func transportTrouble(what string, errs ...error) (result.Result, bool) {
	for _, err := range errs {
		if err != nil && httpStatus(err) == 0 {
			return errorf(reasonOf(err), "%s: %v", what, err), true
		}
	}
	return result.Result{}, false
}

// withEditorToken runs body with the run's shared fixture (the checks that use it only read it) and a fresh token
// of ns1's default-editor for audiences (nil: the API server's default audience) and lifetime.
func withEditorToken(ctx context.Context, env *Env, audiences []string, lifetime time.Duration,
	body func(f *saFixture, tok string) result.Result) result.Result {
	f, err := sharedSAFixture(ctx, env)
	if err != nil {
		return fixtureError(err)
	}
	defer f.cleanup()
	tok, err := f.token(ctx, f.ns1, "default-editor", audiences, lifetime)
	if err != nil {
		return fixtureError(err)
	}
	return body(f, tok)
}

func fixtureError(err error) result.Result {
	var missing *fixtures.MissingClusterRolesError
	if errors.As(err, &missing) {
		return expecting(fail(result.K8sRBAC, "%v", missing), "ClusterRoles "+strings.Join(fixtureClusterRoles, ", "),
			"missing: "+strings.Join(missing.Names, ", "))
	}
	return errorf(result.ConfigError, "could not set up the Kubernetes fixtures: %v", err)
}

// checkProjectedTokenOwnNamespace is SA-001 at the HTTP level the SDK uses: default-editor's token with the
// KFP audience, in a token file, lists and creates experiments in its own namespace.
func checkProjectedTokenOwnNamespace(ctx context.Context, env *Env) result.Result {
	if env.Target.Has(target.CapPods) && env.Target.ProbeImage != "" {
		f, err := newSAFixture(ctx, env)
		if err != nil {
			return fixtureError(err)
		}
		defer f.cleanup()
		return f.inPod(ctx)
	}
	return withEditorToken(ctx, env, []string{satoken.Audience}, time.Hour, func(f *saFixture, tok string) result.Result {
		path, err := f.tokenFile(tok)
		if err != nil {
			return errorf(result.Internal, "write the token file: %v", err)
		}
		a := probeAccess(ctx, env.volumeClient(path), f.ns1)
		if r, bad := transportTrouble("in-cluster API", a.listErr, a.createErr); bad {
			return r
		}
		if a.listErr != nil || a.createErr != nil {
			return expecting(failFromError("default-editor in its own namespace", errors.Join(a.listErr, a.createErr)), "list 200, create 200", a.String())
		}
		return expecting(pass("default-editor's projected token lists and creates in %s", f.ns1), "list 200, create 200", a.String())
	})
}

// checkExplicitCredentials is SA-003: with the token, the request succeeds (so Authorization was sent); with
// no credentials the same request is refused with 401 or 403.
func checkExplicitCredentials(ctx context.Context, env *Env) result.Result {
	return withEditorToken(ctx, env, []string{satoken.Audience}, time.Hour, func(f *saFixture, tok string) result.Result {
		_, withErr := env.inCluster(tok).ListExperiments(ctx, f.ns1)
		_, withoutErr := env.inCluster("").ListExperiments(ctx, f.ns1)
		if r, bad := transportTrouble("in-cluster API", withErr, withoutErr); bad {
			return r
		}
		actual := fmt.Sprintf("with credentials %d, without %d", httpStatus(withErr), httpStatus(withoutErr))
		const want = "with credentials 200, without 401 or 403"
		switch s := httpStatus(withoutErr); {
		case withoutErr == nil:
			return expecting(fail(result.Unsecured, "the in-cluster API lists %s without any credentials", f.ns1), want, actual)
		case withErr != nil:
			return expecting(failFromError("with an explicit token", withErr), want, actual)
		case s != http.StatusUnauthorized && s != http.StatusForbidden:
			return expecting(fail(result.UnexpectedResponse, "a request without credentials got %d", s), want, actual)
		}
		return expecting(pass("the token is sent and required"), want, actual)
	})
}

// checkHostMatrix is SA-004. The target names ml-pipeline:8888 as in_cluster_api_url; it has no field for
// ml-pipeline-ui:80, so that host is reported as not checked rather than guessed. A mesh refusal ("RBAC: access
// denied") is recorded as such.
func checkHostMatrix(ctx context.Context, env *Env) result.Result {
	return withEditorToken(ctx, env, []string{satoken.Audience}, time.Hour, func(f *saFixture, tok string) result.Result {
		_, lerr := env.inCluster(tok).ListExperiments(ctx, f.ns1)
		if r, bad := transportTrouble("in-cluster API", lerr); bad {
			return r
		}
		uiURL := env.Target.InClusterUIURL
		if uiURL == "" {
			const want = "list 200 at ml-pipeline (in_cluster_api_url)"
			actual := fmt.Sprintf("ml-pipeline (in_cluster_api_url): %d; ml-pipeline-ui: not checked (the target names no in-cluster UI address)", httpStatus(lerr))
			if lerr != nil {
				return expecting(failFromError("the token at ml-pipeline", lerr), want, actual)
			}
			return expecting(pass("the token works at ml-pipeline; ml-pipeline-ui is not checked: the target names no in-cluster address for it (in_cluster_ui_url)"), want, actual)
		}
		ui := env.inCluster(tok)
		ui.BaseURL = uiURL
		_, uerr := ui.ListExperiments(ctx, f.ns1)
		if r, bad := transportTrouble("in-cluster UI", uerr); bad {
			return r
		}
		const want = "list 200 at ml-pipeline (in_cluster_api_url) and at ml-pipeline-ui (in_cluster_ui_url)"
		actual := fmt.Sprintf("ml-pipeline: %d; ml-pipeline-ui: %d", httpStatus(lerr), httpStatus(uerr))
		if lerr != nil {
			return expecting(failFromError("the token at ml-pipeline", lerr), want, actual)
		}
		if uerr == nil {
			return expecting(pass("the token works at ml-pipeline and at ml-pipeline-ui"), want, actual)
		}
		var ae *kfpapi.APIError
		if errors.As(uerr, &ae) && ae.StatusCode == http.StatusForbidden && strings.Contains(ae.Body, "RBAC: access denied") {
			// Kubeflow before 1.9: ml-pipeline-ui's AuthorizationPolicy admits the ingress gateway only (pipelines#9774).
			return expecting(warn(result.MeshAuthz, "the token works at ml-pipeline, but ml-pipeline-ui refuses in-cluster callers with "+
				"Envoy's 403 \"RBAC: access denied\" (its AuthorizationPolicy admits only the ingress gateway before Kubeflow 1.9): "+
				"use http://ml-pipeline.kubeflow:8888"), want, actual)
		}
		return expecting(failFromError("the token at ml-pipeline-ui", uerr), want, actual)
	})
}

// checkDefaultAudienceRefused is SA-005: `kubectl create token` (default audience) straight to the API server
// is refused by TokenReview's audience check with 401.
func checkDefaultAudienceRefused(ctx context.Context, env *Env) result.Result {
	return withEditorToken(ctx, env, nil, time.Hour, func(f *saFixture, tok string) result.Result {
		_, lerr := env.inCluster(tok).ListExperiments(ctx, f.ns1)
		if r, bad := transportTrouble("in-cluster API", lerr); bad {
			return r
		}
		const want = "401 naming the audience"
		var ae *kfpapi.APIError
		switch {
		case lerr == nil:
			return expecting(fail(result.Audience, "a token for the API server's default audience was accepted by KFP"), want, "200")
		case !errors.As(lerr, &ae) || ae.StatusCode != http.StatusUnauthorized:
			return expecting(fail(reasonOf(lerr), "expected 401, got %v", lerr), want, fmt.Sprint(httpStatus(lerr)))
		case !strings.Contains(strings.ToLower(ae.Message+ae.Body), "audience"):
			return expecting(warn(result.Audience, "refused with 401, but the answer does not name the audience: %s", ae.Message), want, "401")
		}
		r := pass("refused with 401: %s", ae.Message)
		r.Reason = result.Audience
		return expecting(r, want, "401 (audience)")
	})
}

// checkExpiredToken is SA-011: a 10-minute token, the clock moved past its expiry (and kube-apiserver's one
// minute of leeway), is refused with 401.
func checkExpiredToken(ctx context.Context, env *Env) result.Result {
	return withEditorToken(ctx, env, []string{satoken.Audience}, 10*time.Minute, func(f *saFixture, tok string) result.Result {
		c := env.inCluster(tok)
		if _, err := c.ListExperiments(ctx, f.ns1); err != nil {
			return failFromError("the fresh token", err)
		}
		env.Target.Clock.Advance(11*time.Minute + time.Second)
		_, lerr := c.ListExperiments(ctx, f.ns1)
		if r, bad := transportTrouble("in-cluster API", lerr); bad {
			return r
		}
		return refused401(lerr, "the expired token")
	})
}

func refused401(err error, what string) result.Result {
	const want = "401"
	switch s := httpStatus(err); {
	case err == nil:
		return expecting(fail(result.InvalidCredentials, "%s was accepted", what), want, "200")
	case s >= 500:
		return expecting(fail(result.ServerError, "%s got %d", what, s), want, fmt.Sprint(s))
	case s != http.StatusUnauthorized:
		return expecting(fail(result.UnexpectedResponse, "%s got %d", what, s), want, fmt.Sprint(s))
	}
	return expecting(pass("%s is refused with 401", what), want, "401")
}

// checkForgedTokens is SA-012: the token with its signature altered, and a token of the same shape signed by a
// key the cluster does not know, are both refused with 401.
func checkForgedTokens(ctx context.Context, env *Env) result.Result {
	return withEditorToken(ctx, env, []string{satoken.Audience}, time.Hour, func(f *saFixture, tok string) result.Result {
		altered := alterSignature(tok)
		forged, err := signWithUnknownKey(tok, nil)
		if err != nil {
			return errorf(result.Internal, "forge a token: %v", err)
		}
		env.Target.Redactor.Add(altered)
		env.Target.Redactor.Add(forged)
		for _, c := range []struct{ what, token string }{{"the altered token", altered}, {"a token signed by an unknown key", forged}} {
			_, lerr := env.inCluster(c.token).ListExperiments(ctx, f.ns1)
			if r, bad := transportTrouble("in-cluster API", lerr); bad {
				return r
			}
			if r := refused401(lerr, c.what); r.Status != result.Pass {
				return r
			}
		}
		return expecting(pass("both are refused with 401"), "401, 401", "401, 401")
	})
}

// alterSignature flips the signature's first characters, keeping it valid base64url.
func alterSignature(tok string) string {
	i := strings.LastIndexByte(tok, '.') + 1
	b := []byte(tok)
	for j := i; j < i+4 && j < len(b); j++ {
		if b[j] == 'A' {
			b[j] = 'B'
		} else {
			b[j] = 'A'
		}
	}
	return string(b)
}

// unknownKey is the RSA key forged tokens are signed with: made once per process (2048-bit generation costs
// 100 to 300 ms of CPU, and several checks forge tokens on every profile), and published by no issuer.
var unknownKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// signWithUnknownKey copies a token's claims (issuer, subject, audience, the kubernetes.io claims), with the
// claims in override replaced, into a token signed by a key no issuer published (unknownKey), with the same kid.
func signWithUnknownKey(tok string, override map[string]any) (string, error) {
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return "", err
	}
	var claims map[string]any
	if err := parsed.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return "", err
	}
	for k, v := range override {
		claims[k] = v
	}
	key, err := unknownKey()
	if err != nil {
		return "", err
	}
	kid := ""
	if len(parsed.Headers) > 0 {
		kid = parsed.Headers[0].KeyID
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// inPod is SA-001 for real: the probe Job in the fixture namespace, as its default-editor with the kubelet's
// projected token, and the probe's own verdict.
func (f *saFixture) inPod(ctx context.Context) result.Result {
	if f.shared {
		return errorf(result.Internal, "%v", errSharedFixture)
	}
	t := f.env.Target
	apiURL := t.ProbeAPIURL
	if apiURL == "" {
		apiURL = DefaultProbeAPIURL
	}
	run, err := f.kube.RunProbe(ctx, fixtures.ProbeRun{Namespace: f.ns1, Image: t.ProbeImage, APIURL: apiURL})
	if err != nil {
		return errorf(result.ProbeError, "%v", err)
	}
	for _, r := range run.Results {
		if r.ID == "SA-001" {
			r.Message = "in a pod of " + f.ns1 + ": " + r.Message
			return r
		}
	}
	return errorf(result.ProbeError, "the probe's run holds no SA-001 result")
}
