package harness

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// What a live run asks before any check, in two steps around the port-forward and profile auto (prepareFile):
// askGatewayFirst, that the gateway answers (where the description has one; if nothing answers, the run would
// be all errors: exit 3); checkPermissionsFirst, with a Kubernetes client, that the credentials hold every
// permission the checks that will run use (else exit 2, before anything is created).

func askGatewayFirst(ctx context.Context, t *target.Target) error {
	if t.NoGateway() {
		return nil
	}
	if err := askGateway(ctx, t); err != nil {
		return &UnreachableError{Err: err}
	}
	return nil
}

// forwarded says the description asks for a port-forward to the KFP API: its checks are counted even where the
// forward failed (they report that failure; a cluster that cannot be asked at all is then exit 3).
func checkPermissionsFirst(ctx context.Context, t *target.Target, list []*checks.Check, forwarded bool, logf func(string, ...any)) error {
	if t.Kube == nil {
		return nil
	}
	if forwarded && t.InClusterAPIURL == "" {
		t.InClusterAPIURL = "(port-forward)"
		t.SetProfile(t.Profile)
		defer func() {
			t.InClusterAPIURL = ""
			t.SetProfile(t.Profile)
		}()
	}
	needs, err := Permissions(t, list)
	if err != nil {
		return err
	}
	if len(needs) == 0 {
		return nil
	}
	begin := time.Now()
	rctx, cancel := context.WithTimeout(ctx, t.RequestTimeout)
	defer cancel()
	missing, err := missingPermissions(rctx, t.Kube, needs)
	switch {
	case apierrors.IsUnauthorized(err):
		// Every authenticated identity may ask about itself: these credentials are not one.
		return configErr("the kubeconfig %s: the Kubernetes API refused its credentials (SelfSubjectAccessReview: %v)", t.Kubeconfig, err)
	case err != nil && t.NoGateway():
		// The cluster is the whole target here: one that does not answer is an unreachable target.
		return &UnreachableError{Err: fmt.Errorf("the Kubernetes API of the kubeconfig %s could not be asked (SelfSubjectAccessReview): %w", t.Kubeconfig, err)}
	case err != nil:
		// The gateway answered: the Kubernetes-side checks will report what the cluster says.
		logf("warning: the permission check before the run could not ask the Kubernetes API (%v); the checks that use it will say what it answers", err)
		return nil
	}
	if len(missing) > 0 {
		return &PermissionError{Missing: missing, Identity: t.Kubeconfig, Context: t.Context}
	}
	logf("the kubeconfig's identity holds the %d permission(s) the checks use (SelfSubjectAccessReview, %s)",
		len(needs), time.Since(begin).Round(time.Millisecond))
	return nil
}

// askGateway asks the gateway once.
func askGateway(ctx context.Context, t *target.Target) error {
	ctx, cancel := context.WithTimeout(ctx, t.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.GatewayURL+"/", nil)
	if err != nil {
		return err
	}
	// The same proxy settings as the checks' client (HTTP(S)_PROXY, NO_PROXY): a gateway reached only through a
	// proxy is reachable.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: t.TLS.Clone(), Proxy: http.ProxyFromEnvironment},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("the gateway %s could not be reached (%s): %w", t.GatewayURL, browser.Classify(err), err)
	}
	resp.Body.Close()
	return nil
}

// ReasonMissingPermissions is the stable code of a run refused before it started because the kubeconfig's
// credentials lack a permission the selected checks use (exit 2: a configuration to fix, like a bad flag; the
// target was reached).
const ReasonMissingPermissions = "MISSING_PERMISSIONS"

// PermissionError names each permission the credentials lack and the checks that need it.
type PermissionError struct {
	Missing []Needed
	// Identity and Context name the kubeconfig whose credentials were asked.
	Identity, Context string
}

func (e *PermissionError) Error() string {
	var b strings.Builder
	who := "the kubeconfig " + e.Identity
	if e.Context != "" {
		who += " (context " + e.Context + ")"
	}
	fmt.Fprintf(&b, "%s: %s lacks %d permission(s) the selected checks use; nothing was created:", ReasonMissingPermissions, who, len(e.Missing))
	for _, m := range e.Missing {
		fmt.Fprintf(&b, "\n  %s (needed by %s)", m.Permission, strings.Join(m.Checks, ", "))
	}
	b.WriteString("\n  grant them to the kubeconfig's identity, or leave those checks out with --only")
	return b.String()
}

// Unwrap makes a PermissionError a configuration error (exit 2).
func (e *PermissionError) Unwrap() error {
	return &ConfigError{Err: fmt.Errorf("%s", ReasonMissingPermissions)}
}

// Needed is one permission and the checks that use it.
type Needed struct {
	Permission fixtures.Permission `json:"permission"`
	Checks     []string            `json:"checks"`
}

// saFixture are the fixtures of every check that makes its own pair of Profile namespaces (newSAFixture): the
// roles read, the Profile manifest, cross-namespace bindings, tokens, and the SubjectAccessReviews that wait for
// a binding to take effect.
func saFixture() ([]fixtures.Permission, error) {
	ps, err := fixtures.ManifestPermissions(fixtures.ProfileNamespace, fixtures.CrossNamespaceEdit, fixtures.CrossNamespaceView)
	if err != nil {
		return nil, err
	}
	ps = append(ps, fixtures.ClusterRoleReads("kubeflow-admin", "kubeflow-edit", "kubeflow-view")...)
	return append(ps, fixtures.TokenRequest, fixtures.SubjectAccessReview), nil
}

// checkPermissions says what each check that uses the Kubernetes API asks of it, for target t (the profile
// namespaces of its users, the probe image). TestEveryKubeCheckHasPermissions keeps it in step with the
// catalogue: every check that needs the kube capability is here, and nothing else.
var checkPermissions = map[string]func(t *target.Target) ([]fixtures.Permission, error){
	"SA-001": func(t *target.Target) ([]fixtures.Permission, error) {
		ps, err := saFixture()
		if t.ProbeImage != "" {
			ps = append(ps, fixtures.ProbeJobPermissions()...)
		}
		return ps, err
	},
	"SA-003": fixtureOnly, "SA-004": fixtureOnly, "SA-005": fixtureOnly,
	"SA-011": fixtureOnly, "SA-012": fixtureOnly,
	"RBAC-001": fixtureOnly, "RBAC-002": fixtureOnly, "RBAC-004": fixtureOnly,
	"RBAC-003": func(*target.Target) ([]fixtures.Permission, error) {
		ps, err := saFixture()
		return append(ps, fixtures.ListClusterRoles), err
	},
	"M2M-001": fixtureOnly, "M2M-002": fixtureOnly, "M2M-004": fixtureOnly, "M2M-005": fixtureOnly,
	"ISO-004": fixtureOnly, "ISO-005": fixtureOnly, "ISO-006": fixtureOnly,
	"ISO-009": func(*target.Target) ([]fixtures.Permission, error) {
		// Two Profiles of its own, one owner a contributor of the other; no token.
		ps, err := fixtures.ManifestPermissions(fixtures.ProfileNamespace, fixtures.Contributor)
		ps = append(ps, fixtures.ClusterRoleReads("kubeflow-admin", "kubeflow-edit", "kubeflow-view")...)
		return append(append(ps, fixtures.SubjectAccessReview), fixtures.AuditReads()...), err
	},
	"SA-007": func(t *target.Target) ([]fixtures.Permission, error) {
		var ps []fixtures.Permission
		for _, ns := range t.ProfileNamespaces() {
			ps = append(ps, fixtures.PodDefaultPermissions(ns)...)
		}
		return ps, nil
	},
	"SA-010": func(t *target.Target) ([]fixtures.Permission, error) {
		var ps []fixtures.Permission
		for _, ns := range t.ProfileNamespaces() {
			ps = append(ps, fixtures.ProfileNamespaceReads(ns)...)
		}
		return append(ps, fixtures.SubjectAccessReview), nil
	},
}

func fixtureOnly(*target.Target) ([]fixtures.Permission, error) { return saFixture() }

// Permissions derives the permissions a run of list against t uses from the checks that will run (n/a ones ask
// nothing), each with the checks that need it, in a stable order; a check that creates fixtures also needs the
// end-of-run sweep's.
func Permissions(t *target.Target, list []*checks.Check) ([]Needed, error) {
	by := map[fixtures.Permission][]string{}
	var order []fixtures.Permission
	add := func(p fixtures.Permission, id string) {
		if _, ok := by[p]; !ok {
			order = append(order, p)
		}
		if ids := by[p]; len(ids) == 0 || ids[len(ids)-1] != id {
			by[p] = append(ids, id)
		}
	}
	for _, pl := range checks.Plan(t, list) {
		of, ok := checkPermissions[pl.Check.ID]
		if !pl.Runs || !ok {
			continue
		}
		ps, err := of(t)
		if err != nil {
			return nil, fmt.Errorf("%s: the permissions of its fixtures: %w", pl.Check.ID, err)
		}
		creates := false
		for _, p := range ps {
			add(p, pl.Check.ID)
			creates = creates || p.Verb == "create" && p.Namespace == "" && p.Resource == "namespaces"
		}
		if creates {
			for _, p := range fixtures.SweepPermissions() {
				add(p, pl.Check.ID)
			}
		}
	}
	out := make([]Needed, 0, len(order))
	for _, p := range order {
		out = append(out, Needed{Permission: p, Checks: by[p]})
	}
	return out, nil
}

// ssarParallel bounds the SelfSubjectAccessReviews in flight.
const ssarParallel = 8

// missingPermissions asks a SelfSubjectAccessReview for each permission, in parallel, and returns the denied.
func missingPermissions(ctx context.Context, kube kubernetes.Interface, needs []Needed) ([]Needed, error) {
	allowed := make([]bool, len(needs))
	errs := make([]error, len(needs))
	sem := make(chan struct{}, ssarParallel)
	var wg sync.WaitGroup
	for i, n := range needs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			allowed[i], errs[i] = selfReview(ctx, kube, n.Permission)
		}()
	}
	wg.Wait()
	var missing []Needed
	for i, n := range needs {
		if errs[i] != nil {
			return nil, fmt.Errorf("%s: %w", n.Permission, errs[i])
		}
		if !allowed[i] {
			missing = append(missing, n)
		}
	}
	return missing, nil
}

func selfReview(ctx context.Context, kube kubernetes.Interface, p fixtures.Permission) (bool, error) {
	r := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: p.Namespace, Verb: p.Verb, Group: p.Group,
			Resource: p.Resource, Subresource: p.Subresource, Name: p.Name}}}
	got, err := kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, r, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return got.Status.Allowed, nil
}
