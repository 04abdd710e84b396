package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-authcheck/kfp-authcheck/auth/satoken"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/kfpsar"
	"github.com/kfp-authcheck/kfp-authcheck/internal/rbaceval"
	"github.com/kfp-authcheck/kfp-authcheck/internal/timing"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func init() {
	register(&Check{ID: "RBAC-001", Family: "RBAC", Severity: Must, Needs: saNeeds,
		Title:      "a ServiceAccount of an unrelated namespace gets 403 on list and create",
		References: []string{"manifests pipeline_test test_unauthorized_access"},
		Run:        checkUnrelatedNamespaceDenied})
	register(&Check{ID: "RBAC-002", Family: "RBAC", Severity: Must, Needs: saNeeds, Long: true,
		Title:      "a RoleBinding to kubeflow-edit lets another namespace's ServiceAccount create; kubeflow-view only reads",
		References: []string{"website PR#2905", "website PR#3037", "pipelines#3513"},
		Run:        checkCrossNamespaceBinding})
	register(&Check{ID: "RBAC-003", Family: "RBAC", Severity: Must, Needs: []target.Capability{target.CapMultiUser, target.CapKube}, Long: true,
		Title:      "every SubjectAccessReview KFP asks is answered as it needs under edit, view and none, by the ClusterRoles and by the cluster",
		References: []string{"pipelines#8854", "pipelines#8897", "pipelines#11436"},
		Run:        checkVerbMatrix})
	register(&Check{ID: "RBAC-004", Family: "RBAC", Severity: Must, Needs: saNeeds, Long: true,
		Title:      "deleting the RoleBinding revokes access on the next call",
		References: []string{"website#2905", "kubeflow#6019"},
		Run:        checkRevocation})
}

// crossNamespaceToken sets up ns1 and ns2 and mints ns2/default-editor's token for the KFP audience: on the
// run's shared pair for a check that only reads (RBAC-001), on a pair of the check's own for one that binds
// across them.
func crossNamespaceToken(ctx context.Context, env *Env, own bool) (*saFixture, string, *result.Result) {
	fixture := sharedSAFixture
	if own {
		fixture = newSAFixture
	}
	f, err := fixture(ctx, env)
	if err != nil {
		r := fixtureError(err)
		return nil, "", &r
	}
	tok, err := f.token(ctx, f.ns2, "default-editor", []string{satoken.Audience}, 0)
	if err != nil {
		f.cleanup()
		r := fixtureError(err)
		return nil, "", &r
	}
	return f, tok, nil
}

// checkUnrelatedNamespaceDenied is RBAC-001.
func checkUnrelatedNamespaceDenied(ctx context.Context, env *Env) result.Result {
	f, tok, r := crossNamespaceToken(ctx, env, false)
	if r != nil {
		return *r
	}
	defer f.cleanup()
	a := probeAccess(ctx, env.inCluster(tok), f.ns1)
	if r, bad := transportTrouble("in-cluster API", a.listErr, a.createErr); bad {
		return r
	}
	const want = "list 403, create 403"
	if a.listStatus != http.StatusForbidden || a.createStatus != http.StatusForbidden {
		reason := result.K8sRBAC
		if a.listErr == nil || a.createErr == nil {
			reason = result.Unsecured
		}
		return expecting(fail(reason, "%s/default-editor in %s without any binding: %s", f.ns2, f.ns1, a), want, a.String())
	}
	return expecting(pass("refused without a binding"), want, a.String())
}

// checkCrossNamespaceBinding is RBAC-002, the seed's scenario: kubeflow-edit lets ns2's default-editor list
// and create in ns1; kubeflow-view lets it list and not create. The two bindings are made on pairs of
// namespaces of their own, at once (the same question each, half the round trips in sequence); that a deleted
// binding stops granting is RBAC-004's question.
func checkCrossNamespaceBinding(ctx context.Context, env *Env) result.Result {
	var edit, view access
	var editErr, viewErr *result.Result
	var wg sync.WaitGroup
	wg.Go(func() { edit, editErr = crossNamespaceAccess(ctx, env, fixtures.CrossNamespaceEdit, "create") })
	wg.Go(func() { view, viewErr = crossNamespaceAccess(ctx, env, fixtures.CrossNamespaceView, "list") })
	wg.Wait()
	for _, r := range []*result.Result{editErr, viewErr} {
		if r != nil {
			return *r
		}
	}
	if r, bad := transportTrouble("in-cluster API", edit.listErr, edit.createErr, view.listErr, view.createErr); bad {
		return r
	}
	actual := fmt.Sprintf("kubeflow-edit: %s; kubeflow-view: %s", edit, view)
	const want = "kubeflow-edit: list 200, create 200; kubeflow-view: list 200, create 403"
	switch {
	case edit.listErr != nil || edit.createErr != nil:
		return expecting(fail(result.K8sRBAC, "the kubeflow-edit RoleBinding does not grant access: %s", edit), want, actual)
	case view.listErr != nil:
		return expecting(fail(result.K8sRBAC, "the kubeflow-view RoleBinding does not grant list: %s", view), want, actual)
	case view.createStatus != http.StatusForbidden:
		return expecting(fail(result.K8sRBAC, "kubeflow-view allowed or mishandled a create: %s", view), want, actual)
	}
	return expecting(pass("edit writes, view only reads"), want, actual)
}

// crossNamespaceAccess binds ns2's default-editor in ns1 of a pair of its own through manifest, waits until a
// SubjectAccessReview allows verb on experiments (what the binding grants at least), and probes what the token
// can do in ns1.
func crossNamespaceAccess(ctx context.Context, env *Env, manifest, verb string) (access, *result.Result) {
	f, tok, r := crossNamespaceToken(ctx, env, true)
	if r != nil {
		return access{}, r
	}
	defer f.cleanup()
	if err := f.bind(ctx, manifest); err != nil {
		r := fixtureError(err)
		return access{}, &r
	}
	if err := awaitSAR(ctx, env, f.saUser(), f.ns1, verb, true); err != nil {
		r := errorf(result.Unreachable, "SubjectAccessReview: %v", err)
		return access{}, &r
	}
	return probeAccess(ctx, env.inCluster(tok), f.ns1), nil
}

// checkRevocation is RBAC-004: the first call after the RoleBinding's deletion has reached the cluster's
// authorizer (a SubjectAccessReview says no) is refused: KFP keeps no decision of its own.
func checkRevocation(ctx context.Context, env *Env) result.Result {
	f, tok, r := crossNamespaceToken(ctx, env, true)
	if r != nil {
		return *r
	}
	defer f.cleanup()
	c := env.inCluster(tok)
	if err := f.bind(ctx, fixtures.CrossNamespaceEdit); err != nil {
		return fixtureError(err)
	}
	if err := awaitSAR(ctx, env, f.saUser(), f.ns1, "list", true); err != nil {
		return errorf(result.Unreachable, "SubjectAccessReview: %v", err)
	}
	_, before := c.ListExperiments(ctx, f.ns1)
	if err := f.unbind(ctx, fixtures.CrossNamespaceEdit); err != nil {
		return fixtureError(err)
	}
	if err := awaitSAR(ctx, env, f.saUser(), f.ns1, "list", false); err != nil {
		return errorf(result.Unreachable, "SubjectAccessReview: %v", err)
	}
	_, after := c.ListExperiments(ctx, f.ns1)
	if r, bad := transportTrouble("in-cluster API", before, after); bad {
		return r
	}
	actual := fmt.Sprintf("with the binding %d, right after deleting it %d", httpStatus(before), httpStatus(after))
	const want = "with the binding 200, right after deleting it 403"
	switch {
	case before != nil:
		return expecting(failFromError("with the binding", before), want, actual)
	case httpStatus(after) != http.StatusForbidden:
		return expecting(fail(result.K8sRBAC, "access survived the RoleBinding's deletion (stale cache?)"), want, actual)
	}
	return expecting(pass("revoked on the next call"), want, actual)
}

// kfpQuestion is one SubjectAccessReview the KFP API server asks to decide a user's request (the resource and
// verb of common/const.go as each server's canAccess* sets them), and whether kubeflow-view is meant to answer
// it yes (a read, or what the UI does while viewing: visualizations, viewers).
type kfpQuestion struct {
	row  fixtures.MatrixRow
	read bool
}

// kfpAuthorizes lists the questions KFP's API server of version asks for users' requests. KFP 2.0.5 (Kubeflow
// 1.8) to 2.16 ask the same ones (backend/src/apiserver/server/*_server.go): a pipeline version is authorized as
// resource "pipelines" (canAccessPipeline / canAccessPipelineVersion set Resource = RbacResourceTypePipelines),
// never as "pipelines/versions" (Kubeflow <= 1.10's roles) or "pipelineversions" (1.11's roles, the Kubernetes
// pipeline store's CRD), so neither spelling decides anything KFP asks. The report-* questions of the persistence
// agent and scheduled workflows are asked for KFP's own ServiceAccounts, not users', and are not listed.
func kfpAuthorizes(version string) []kfpQuestion {
	_ = version // one list for every KFP the harness knows; a release that asks otherwise branches here
	var out []kfpQuestion
	add := func(group, resource string, read bool, verbs ...string) {
		for _, v := range verbs {
			out = append(out, kfpQuestion{fixtures.MatrixRow{Group: group, Resource: resource, Verb: v}, read})
		}
	}
	const g = kfpsar.RBACGroup
	add(g, "pipelines", true, "get", "list")
	add(g, "pipelines", false, "create", "update", "delete")
	add(g, "experiments", true, "get", "list")
	add(g, "experiments", false, "create", "delete", "archive", "unarchive")
	add(g, "runs", true, "get", "list", "readArtifact")
	add(g, "runs", false, "create", "delete", "archive", "unarchive", "retry", "terminate", "reportMetrics")
	add(g, "jobs", true, "get", "list")
	add(g, "jobs", false, "create", "delete", "enable", "disable")
	add(g, "visualizations", true, "create")
	// The UI asks viewers (TensorBoard) through KFP's /apis/v1beta1/auth with the group kubeflow.org.
	add("kubeflow.org", "viewers", true, "create", "get", "delete")
	return out
}

// verbMatrixColumns are RBAC-003's columns: ns2's default-editor in ns1 under no binding, a kubeflow-view and a
// kubeflow-edit RoleBinding; want says whether KFP's question q must be answered yes there.
var verbMatrixColumns = []struct {
	name, manifest, role string
	want                 func(q kfpQuestion) bool
}{
	{"none", "", "", func(kfpQuestion) bool { return false }},
	{"view", fixtures.CrossNamespaceView, "kubeflow-view", func(q kfpQuestion) bool { return q.read }},
	{"edit", fixtures.CrossNamespaceEdit, "kubeflow-edit", func(kfpQuestion) bool { return true }},
}

// checkVerbMatrix is RBAC-003: every question KFP's API server (of the profile's version) asks, for a
// ServiceAccount bound to kubeflow-edit, to kubeflow-view and to nothing, must be answered as KFP needs it (edit:
// all; view: the reads; none: nothing). Two answers are judged: the ClusterRoles the cluster holds (a release's
// as it ships them, on the harness's stacks), evaluated by the independent evaluator rbaceval, and the cluster's
// own SubjectAccessReviews, which must also agree with rbaceval (a stand-in or authorizer that computes RBAC
// differently shows there). A role that names a resource KFP never asks for decides nothing.
func checkVerbMatrix(ctx context.Context, env *Env) result.Result {
	version := "unknown"
	var release string
	var inline []byte
	if p := env.Target.Profile; p != nil {
		if p.KFP.Version != "" {
			version = p.KFP.Version
		}
		release, inline = p.Roles, p.RolesManifest
	}
	questions := kfpAuthorizes(version)
	f, err := newSAFixture(ctx, env)
	if err != nil {
		return fixtureError(err)
	}
	defer f.cleanup()
	base, source, err := clusterRolesPolicy(ctx, env, release, inline)
	if err != nil {
		return errorf(result.Internal, "the ClusterRoles: %v", err)
	}
	if err := f.addProfileBindings(base); err != nil {
		return errorf(result.Internal, "the RBAC fixtures: %v", err)
	}
	user := f.saUser()
	var roleGaps, clusterGaps, disagreements []string
	allowed := map[string]int{}
	for _, col := range verbMatrixColumns {
		policy := base
		if col.manifest != "" {
			if policy, err = f.policyWith(base, col.manifest); err != nil {
				return errorf(result.Internal, "the RBAC fixtures: %v", err)
			}
			if err := f.bind(ctx, col.manifest); err != nil {
				return fixtureError(err)
			}
		}
		// Wait until the column's binding (or, for none, no binding) is in effect: get experiments is allowed
		// under kubeflow-view and kubeflow-edit.
		if err := awaitSAR(ctx, env, user, f.ns1, "get", col.role != ""); err != nil {
			return errorf(result.Unreachable, "SubjectAccessReview: %v", err)
		}
		// The column's questions are independent: they are asked at once (bounded), and judged in their order.
		answers, errs := make([]bool, len(questions)), make([]error, len(questions))
		var g errgroup.Group
		g.SetLimit(sarConcurrency)
		for i, q := range questions {
			g.Go(func() error {
				answers[i], errs[i] = f.sar(ctx, user, q.row)
				return nil
			})
		}
		_ = g.Wait()
		for i, q := range questions {
			want := col.want(q)
			// A denial's error names bindings whose role is missing; the denial is the answer, as in kube-apiserver.
			roles, _ := policy.Review(kfpsar.Spec(user, f.attributes(q.row)))
			got, err := answers[i], errs[i]
			if err != nil {
				return errorf(result.Unreachable, "SubjectAccessReview: %v", err)
			}
			if got {
				allowed[col.name]++
			}
			if roles != want {
				roleGaps = append(roleGaps, fmt.Sprintf("%s under %s: the ClusterRoles say %v", q.row, col.name, roles))
			}
			if got != want {
				clusterGaps = append(clusterGaps, fmt.Sprintf("%s under %s: the cluster says %v", q.row, col.name, got))
			}
			if got != roles {
				disagreements = append(disagreements, fmt.Sprintf("%s under %s: cluster %v, ClusterRoles %v", q.row, col.name, got, roles))
			}
		}
		if col.role != "" {
			if err := f.unbind(ctx, col.manifest); err != nil {
				return fixtureError(err)
			}
		}
	}
	actual := fmt.Sprintf("%d questions of KFP %s against %s; the cluster allowed under none %d, view %d, edit %d; %d answers short of what KFP needs from the roles, %d from the cluster, %d where the cluster and the roles disagree",
		len(questions), version, source, allowed["none"], allowed["view"], allowed["edit"], len(roleGaps), len(clusterGaps), len(disagreements))
	want := fmt.Sprintf("every question KFP %s asks answered as it needs (edit: all, view: reads, none: nothing), by the ClusterRoles and by the cluster", version)
	switch {
	case len(roleGaps) > 0:
		return expecting(fail(result.K8sRBAC, "the ClusterRoles do not authorize what KFP %s asks: %s", version, clip(roleGaps)), want, actual)
	case len(clusterGaps) > 0:
		return expecting(fail(result.K8sRBAC, "the cluster does not authorize what KFP %s asks: %s", version, clip(clusterGaps)), want, actual)
	case len(disagreements) > 0:
		return expecting(fail(result.K8sRBAC, "the cluster's SubjectAccessReviews differ from its ClusterRoles: %s", clip(disagreements)), want, actual)
	}
	return expecting(pass("%s", actual), want, actual)
}

// sarConcurrency bounds the SubjectAccessReviews RBAC-003 has in flight at once.
const sarConcurrency = 16

// clip joins at most eight findings and says how many more there were.
func clip(s []string) string {
	if len(s) <= 8 {
		return strings.Join(s, "; ")
	}
	return strings.Join(s[:8], "; ") + fmt.Sprintf("; and %d more", len(s)-8)
}

// clusterRolesPolicy is the RBAC-003 evaluator's ClusterRoles: those the cluster holds (what a release shipped,
// or what an operator changed since), read through the API; where the cluster will not list them, the profile's
// roles as shipped (fixtures.Roles). source names which.
func clusterRolesPolicy(ctx context.Context, env *Env, release string, inline []byte) (*rbaceval.Policy, string, error) {
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	list, err := env.Target.Kube.RbacV1().ClusterRoles().List(lctx, metav1.ListOptions{})
	if err == nil {
		p := &rbaceval.Policy{ClusterRoles: list.Items}
		return p, fmt.Sprintf("the cluster's %d ClusterRoles", len(list.Items)), nil
	}
	if ctx.Err() != nil {
		return nil, "", ctx.Err()
	}
	name, docs, rerr := fixtures.Roles(release, inline)
	if rerr != nil {
		return nil, "", rerr
	}
	p := &rbaceval.Policy{}
	if err := p.AddManifest(docs); err != nil {
		return nil, "", err
	}
	return p, name + " (listing the cluster's was refused: " + err.Error() + ")", nil
}

// addProfileBindings adds the RBAC of both fixture Profiles (newSAFixture's) to p.
func (f *saFixture) addProfileBindings(p *rbaceval.Policy) error {
	for _, ns := range []string{f.ns1, f.ns2} {
		docs, err := fixtures.Render(fixtures.ProfileNamespace, map[string]string{"NAMESPACE": ns, "OWNER": fixtureOwner})
		if err != nil {
			return err
		}
		if err := p.AddManifest(docs); err != nil {
			return fmt.Errorf("%s: %w", fixtures.ProfileNamespace, err)
		}
	}
	return nil
}

// awaitSAR waits, for up to 10 seconds, until a SubjectAccessReview for user to verb experiments in ns answers
// allowed: a RoleBinding reaches kube-apiserver's authorizer through its informers a moment after the write.
// Past the deadline it returns nil and the caller reports what the cluster and KFP say.
func awaitSAR(ctx context.Context, env *Env, user, ns, verb string, allowed bool) error {
	authz := kfpsar.KubeAuthorizer{Client: env.Target.Kube}
	err := timing.Until(ctx, bindSettleTimeout, func(ctx context.Context) (bool, error) {
		got, _, err := authz.Authorize(ctx, user, kfpsar.ResourceAttributes{Namespace: ns, Verb: verb,
			Group: kfpsar.RBACGroup, Version: kfpsar.RBACVersion, Resource: "experiments"})
		return got == allowed, err
	})
	if errors.Is(err, timing.ErrTimeout) {
		return nil
	}
	return err
}
