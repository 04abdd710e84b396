package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/auth/satoken"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/kfpsar"
	"github.com/kfp-authcheck/kfp-authcheck/internal/timing"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func init() {
	register(&Check{ID: "RBAC-001", Family: "RBAC", Severity: Must, Needs: saNeeds,
		Title:      "a ServiceAccount of an unrelated namespace gets 403 on list and create",
		References: []string{"manifests pipeline_test test_unauthorized_access"},
		Run:        checkUnrelatedNamespaceDenied})
	register(&Check{ID: "RBAC-002", Family: "RBAC", Severity: Must, Needs: saNeeds,
		Title:      "a RoleBinding to kubeflow-edit lets another namespace's ServiceAccount create; kubeflow-view only reads",
		References: []string{"website PR#2905", "website PR#3037", "pipelines#3513"},
		Run:        checkCrossNamespaceBinding})
	register(&Check{ID: "RBAC-003", Family: "RBAC", Severity: Must, Needs: []target.Capability{target.CapMultiUser, target.CapKube},
		Title:      "SubjectAccessReviews for every KFP resource and verb match the ClusterRoles under edit, view and none",
		References: []string{"pipelines#8854", "pipelines#8897", "pipelines#11436"},
		Run:        checkVerbMatrix})
	register(&Check{ID: "RBAC-004", Family: "RBAC", Severity: Must, Needs: saNeeds,
		Title:      "deleting the RoleBinding revokes access on the next call",
		References: []string{"website#2905", "kubeflow#6019"},
		Run:        checkRevocation})
}

// crossNamespaceToken sets up ns1 and ns2 and mints ns2/default-editor's token for the KFP audience.
func crossNamespaceToken(ctx context.Context, env *Env) (*saFixture, string, *result.Result) {
	f, err := newSAFixture(ctx, env)
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
	f, tok, r := crossNamespaceToken(ctx, env)
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
// and create in ns1; kubeflow-view lets it list and not create.
func checkCrossNamespaceBinding(ctx context.Context, env *Env) result.Result {
	f, tok, r := crossNamespaceToken(ctx, env)
	if r != nil {
		return *r
	}
	defer f.cleanup()
	c := env.inCluster(tok)
	user := f.saUser()
	if err := f.bind(ctx, fixtures.CrossNamespaceEdit); err != nil {
		return fixtureError(err)
	}
	if err := awaitSAR(ctx, env, user, f.ns1, "create", true); err != nil {
		return errorf(result.Unreachable, "SubjectAccessReview: %v", err)
	}
	edit := probeAccess(ctx, c, f.ns1)
	if err := f.unbind(ctx, fixtures.CrossNamespaceEdit); err != nil {
		return fixtureError(err)
	}
	if err := f.bind(ctx, fixtures.CrossNamespaceView); err != nil {
		return fixtureError(err)
	}
	if err := awaitSAR(ctx, env, user, f.ns1, "create", false); err != nil {
		return errorf(result.Unreachable, "SubjectAccessReview: %v", err)
	}
	if err := awaitSAR(ctx, env, user, f.ns1, "list", true); err != nil {
		return errorf(result.Unreachable, "SubjectAccessReview: %v", err)
	}
	view := probeAccess(ctx, c, f.ns1)
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

// checkRevocation is RBAC-004: the first call after the RoleBinding's deletion has reached the cluster's
// authorizer (a SubjectAccessReview says no) is refused: KFP keeps no decision of its own.
func checkRevocation(ctx context.Context, env *Env) result.Result {
	f, tok, r := crossNamespaceToken(ctx, env)
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

// checkVerbMatrix is RBAC-003: for each row, the SubjectAccessReview KFP would send (user only) for a
// ServiceAccount bound to kubeflow-edit, to kubeflow-view and to nothing, against what RBAC makes of the fixture's
// objects (its ClusterRoles, the two Profiles' bindings and the column's RoleBinding), as the independent
// evaluator rbaceval computes it (Kubernetes' own rule comparison, not the stand-in's). Where the cluster runs
// Kubeflow's own roles, a difference shows their drift.
func checkVerbMatrix(ctx context.Context, env *Env) result.Result {
	roles, err := fixtures.KubeflowClusterRoles()
	if err != nil {
		return errorf(result.Internal, "the ClusterRole fixture: %v", err)
	}
	f, err := newSAFixture(ctx, env)
	if err != nil {
		return fixtureError(err)
	}
	defer f.cleanup()
	base, err := f.policy()
	if err != nil {
		return errorf(result.Internal, "the RBAC fixtures: %v", err)
	}
	user := f.saUser()
	rows := fixtures.VerbMatrix(roles)
	columns := []struct{ name, manifest, role string }{{"none", "", ""}, {"view", fixtures.CrossNamespaceView, "kubeflow-view"}, {"edit", fixtures.CrossNamespaceEdit, "kubeflow-edit"}}
	var mismatches []string
	allowedCount := map[string]int{}
	for _, col := range columns {
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
		for _, row := range rows {
			want, err := policy.Review(kfpsar.Spec(user, f.attributes(row)))
			if err != nil {
				return errorf(result.Internal, "the RBAC evaluator on %s: %v", row, err)
			}
			got, err := f.sar(ctx, user, row)
			if err != nil {
				return errorf(result.Unreachable, "SubjectAccessReview: %v", err)
			}
			if got {
				allowedCount[col.name]++
			}
			if got != want {
				mismatches = append(mismatches, fmt.Sprintf("%s under %s: cluster says %v, the ClusterRoles say %v", row, col.name, got, want))
			}
		}
		if col.role != "" {
			if err := f.unbind(ctx, col.manifest); err != nil {
				return fixtureError(err)
			}
		}
	}
	actual := fmt.Sprintf("%d rows; allowed under none %d, view %d, edit %d; %d mismatches", len(rows),
		allowedCount["none"], allowedCount["view"], allowedCount["edit"], len(mismatches))
	const want = "every SubjectAccessReview as the ClusterRoles compute it"
	if len(mismatches) > 0 {
		return expecting(fail(result.K8sRBAC, "%s", strings.Join(mismatches, "; ")), want, actual)
	}
	return expecting(pass("%s", actual), want, actual)
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
