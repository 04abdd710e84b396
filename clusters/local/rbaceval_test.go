package local

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/kfpsar"
	"github.com/kfp-authcheck/kfp-authcheck/internal/rbaceval"
)

// TestRBACEvaluatorMatchesKubeAPIServer keeps the independent RBAC evaluator (internal/rbaceval, RBAC-003's
// expectation on the embedded tier) and the real kube-apiserver from drifting apart: the Kubeflow roles, two
// Profiles' RBAC and the cross-namespace bindings go to kube-apiserver and, rendered from the same manifests, to
// the evaluator; then every verb on every resource any Kubeflow ClusterRole names is asked of both, for the
// Profiles' ServiceAccounts, the owner, another namespace's ServiceAccount under no, a view and an edit
// binding, and a stranger. Any answer that differs fails the test.
func TestRBACEvaluatorMatchesKubeAPIServer(t *testing.T) {
	requireTools(t, "etcd", "kube-apiserver", "kube-controller-manager")
	s := startStack(t, "standalone", Options{Kube: true})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	fx := fixtures.NewKube(s.kube.client)
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		_ = fx.Cleanup(cctx)
	})
	ns1, ns2 := fx.Name("ns1"), fx.Name("ns2")
	const owner = "owner@example.com"
	var policy rbaceval.Policy
	apply := func(p *rbaceval.Policy, file string, vars map[string]string) {
		t.Helper()
		if err := fx.Apply(ctx, file, vars); err != nil {
			t.Fatal(err)
		}
		docs, err := fixtures.Render(file, vars)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AddManifest(docs); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	apply(&policy, fixtures.KubeflowRoles, nil)
	for _, ns := range []string{ns1, ns2} {
		apply(&policy, fixtures.ProfileNamespace, map[string]string{"NAMESPACE": ns, "OWNER": owner})
	}
	if err := waitAggregated(ctx, s.kube.client); err != nil {
		t.Fatal(err)
	}
	probe := fixtures.MatrixRow{Group: kfpGroup, Resource: "experiments", Verb: "list"}
	waitForSAR(ctx, t, s.kube.client, owner, ns1, probe, true)
	waitForSAR(ctx, t, s.kube.client, "system:serviceaccount:"+ns2+":default-editor", ns2, probe, true)

	roles, err := fixtures.KubeflowClusterRoles()
	if err != nil {
		t.Fatal(err)
	}
	rows := everyRuleRow(roles)
	sa2 := "system:serviceaccount:" + ns2 + ":default-editor"
	subjects := []string{owner, "system:serviceaccount:" + ns1 + ":default-editor",
		"system:serviceaccount:" + ns1 + ":default-viewer", "stranger@example.com", sa2}
	columns := []struct{ name, manifest string }{{"no binding", ""}, {"view", fixtures.CrossNamespaceView}, {"edit", fixtures.CrossNamespaceEdit}}
	var diffs []string
	asked, allowed := 0, map[string]int{}
	for _, col := range columns {
		p := &policy
		if col.manifest != "" {
			p = policy.Clone()
			apply(p, col.manifest, map[string]string{"FROM": ns2, "TO": ns1})
			waitForSAR(ctx, t, s.kube.client, sa2, ns1, probe, true)
		}
		for _, user := range subjects {
			for _, row := range rows {
				spec := kfpsar.Spec(user, kfpsar.ResourceAttributes{Namespace: ns1, Verb: row.Verb, Group: row.Group,
					Version: "v1", Resource: row.Resource, Subresource: row.Subresource})
				out, err := s.kube.client.AuthorizationV1().SubjectAccessReviews().Create(ctx,
					&authzv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
				if err != nil {
					t.Fatalf("kube-apiserver: SubjectAccessReview %s: %v", row, err)
				}
				got, evalErr := p.Review(spec)
				asked++
				if out.Status.Allowed {
					allowed[col.name+" "+user]++
				}
				if got != out.Status.Allowed || evalErr != nil {
					diffs = append(diffs, fmt.Sprintf("%-10s %-45s %-40s rbaceval allowed=%v err=%v | kube-apiserver %s",
						col.name, user, row, got, evalErr, describeSAR(out.Status)))
				}
			}
		}
		if col.manifest != "" {
			name := "allow-" + ns2 + "-kubeflow-" + col.name
			if err := fx.Delete(ctx, "RoleBinding", ns1, name); err != nil {
				t.Fatal(err)
			}
			waitForSAR(ctx, t, s.kube.client, sa2, ns1, probe, false)
		}
	}
	t.Logf("%d SubjectAccessReviews over %d rows; kube-apiserver allowed the owner %d, ns2's default-editor under view %d and edit %d",
		asked, len(rows), allowed["no binding "+owner], allowed["view "+sa2], allowed["edit "+sa2])
	if len(diffs) > 0 {
		t.Errorf("%d of %d SubjectAccessReviews differ between rbaceval and kube-apiserver:\n%s", len(diffs), asked,
			strings.Join(diffs, "\n"))
	}
	// Answers that agree because nothing, or everything, is allowed prove nothing.
	if allowed["no binding "+sa2] != 0 || allowed["view "+sa2] == 0 || allowed["edit "+sa2] <= allowed["view "+sa2] ||
		allowed["no binding "+owner] < allowed["edit "+sa2] || allowed["no binding stranger@example.com"] != 0 {
		t.Errorf("implausible answers %v: the fixtures did not take", allowed)
	}
}

// everyRuleRow lists every (group, resource, verb) any of the roles names, sorted; a "*" verb is asked with the
// verbs KFP and controllers use, and a name alone in the resources list with its "status" subresource too.
func everyRuleRow(roles []rbacv1.ClusterRole) []fixtures.MatrixRow {
	set := map[fixtures.MatrixRow]bool{}
	for _, cr := range roles {
		for _, r := range cr.Rules {
			verbs := r.Verbs
			if len(verbs) == 1 && verbs[0] == "*" {
				verbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
			}
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					name, sub, _ := strings.Cut(res, "/")
					for _, v := range verbs {
						set[fixtures.MatrixRow{Group: g, Resource: name, Subresource: sub, Verb: v}] = true
						if sub == "" {
							set[fixtures.MatrixRow{Group: g, Resource: name, Subresource: "status", Verb: v}] = true
						}
					}
				}
			}
		}
	}
	rows := make([]fixtures.MatrixRow, 0, len(set))
	for r := range set {
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].String() < rows[j].String() })
	return rows
}
