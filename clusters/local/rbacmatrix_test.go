package local

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/kube"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// matrixSide is one Kubernetes API of the verb-matrix comparison with its fixtures.
type matrixSide struct {
	name   string
	client kubernetes.Interface
	fx     *fixtures.Kube
	// settle waits until what was just applied is effective (kube-controller-manager's aggregation); nil where
	// writes are.
	settle func(context.Context) error
}

// TestVerbMatrixMatchesKubeAPIServer is RBAC-003's matrix computed twice: by mocks/kube's RBAC (the embedded
// tier's answer) and by the real kube-apiserver's SubjectAccessReviews, for every verb and resource of the KFP
// ClusterRoles, for ns2's default-editor under no binding, a kubeflow-view and a kubeflow-edit RoleBinding in
// ns1, and for ns1's owner (namespaceAdmin: kubeflow-admin). The same fixtures (same run ID, so the same names)
// go to both through client-go; any answer that differs (allowed, denied, reason, evaluation error) fails the
// test and is printed.
func TestVerbMatrixMatchesKubeAPIServer(t *testing.T) {
	requireTools(t, "etcd", "kube-apiserver", "kube-controller-manager")
	s := startStack(t, "standalone", Options{Kube: true})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	mock, err := kube.New(kube.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := mock.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mock.Close() })
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := mock.WriteKubeconfig(kubeconfig); err != nil {
		t.Fatal(err)
	}
	mockClient, err := target.KubeClientUnthrottled(kubeconfig, "", 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	mockFx := fixtures.NewKube(mockClient)
	realFx := fixtures.NewKube(s.kube.client)
	realFx.RunID = mockFx.RunID
	sides := []matrixSide{
		{name: "mocks/kube", client: mockClient, fx: mockFx},
		{name: "kube-apiserver", client: s.kube.client, fx: realFx, settle: func(ctx context.Context) error { return waitAggregated(ctx, s.kube.client) }},
	}
	ns1, ns2 := mockFx.Name("ns1"), mockFx.Name("ns2")
	const owner = "owner@example.com"
	for _, sd := range sides {
		if err := sd.fx.Apply(ctx, fixtures.KubeflowRoles, nil); err != nil {
			t.Fatalf("%s: %v", sd.name, err)
		}
		for _, ns := range []string{ns1, ns2} {
			if err := sd.fx.Profile(ctx, ns, owner); err != nil {
				t.Fatalf("%s: %v", sd.name, err)
			}
		}
		if sd.settle != nil {
			if err := sd.settle(ctx); err != nil {
				t.Fatalf("%s: %v", sd.name, err)
			}
		}
	}

	roles, err := fixtures.KubeflowClusterRoles()
	if err != nil {
		t.Fatal(err)
	}
	rows := fixtures.VerbMatrix(roles)
	sa := "system:serviceaccount:" + ns2 + ":default-editor"
	columns := []struct{ name, manifest, user string }{
		{"none", "", sa}, {"view", fixtures.CrossNamespaceView, sa}, {"edit", fixtures.CrossNamespaceEdit, sa},
		{"owner (namespaceAdmin)", "", owner},
	}
	var diffs []string
	allowed := map[string]int{}
	for _, col := range columns {
		if col.manifest != "" {
			for _, sd := range sides {
				if err := sd.fx.Apply(ctx, col.manifest, map[string]string{"FROM": ns2, "TO": ns1}); err != nil {
					t.Fatalf("%s: %v", sd.name, err)
				}
			}
			// kube-apiserver's RBAC authorizer reads bindings from its informers: wait until it sees this one.
			waitForSAR(ctx, t, s.kube.client, col.user, ns1, fixtures.MatrixRow{Group: kfpGroup, Resource: "experiments", Verb: "list"}, true)
		}
		for _, row := range rows {
			var answers [2]authzv1.SubjectAccessReviewStatus
			for i, sd := range sides {
				st, err := sar(ctx, sd.client, col.user, ns1, row)
				if err != nil {
					t.Fatalf("%s: SubjectAccessReview %s: %v", sd.name, row, err)
				}
				answers[i] = st
			}
			if answers[0].Allowed {
				allowed[col.name]++
			}
			if answers[0] != answers[1] {
				diffs = append(diffs, fmt.Sprintf("%-24s %-45s mocks/kube %s | kube-apiserver %s", col.name, row,
					describeSAR(answers[0]), describeSAR(answers[1])))
			}
		}
		if col.manifest != "" {
			name := "allow-" + ns2 + "-kubeflow-" + col.name
			for _, sd := range sides {
				if err := sd.fx.Delete(ctx, "RoleBinding", ns1, name); err != nil {
					t.Fatalf("%s: %v", sd.name, err)
				}
			}
			waitForSAR(ctx, t, s.kube.client, col.user, ns1, fixtures.MatrixRow{Group: kfpGroup, Resource: "experiments", Verb: "list"}, false)
		}
	}
	t.Logf("%d rows; mocks/kube allowed under none %d, view %d, edit %d, owner %d", len(rows),
		allowed["none"], allowed["view"], allowed["edit"], allowed["owner (namespaceAdmin)"])
	if len(diffs) > 0 {
		t.Errorf("%d of %d SubjectAccessReviews differ between mocks/kube and kube-apiserver:\n%s", len(diffs),
			len(rows)*len(columns), strings.Join(diffs, "\n"))
	}
	// A matrix that allows nothing, or everything, compares equal and proves nothing.
	if allowed["none"] != 0 || allowed["view"] == 0 || allowed["edit"] <= allowed["view"] || allowed["owner (namespaceAdmin)"] < allowed["edit"] {
		t.Errorf("implausible matrix (none %d, view %d, edit %d, owner %d of %d rows): the fixtures did not take",
			allowed["none"], allowed["view"], allowed["edit"], allowed["owner (namespaceAdmin)"], len(rows))
	}
	t.Run("aggregation follows the watch", func(t *testing.T) { testAggregationWatch(ctx, t, s.kube.client, realFx.Name("agg")) })
}

// testAggregationWatch creates an aggregated ClusterRole and then a part it selects: kube-controller-manager's
// clusterrole-aggregation controller must copy the part's rules in, and take them out again when the part goes.
func testAggregationWatch(ctx context.Context, t *testing.T, c kubernetes.Interface, name string) {
	label := map[string]string{"kfp-authcheck.io/aggregate-to": name}
	roles := c.RbacV1().ClusterRoles()
	rule := rbacv1.PolicyRule{APIGroups: []string{kfpGroup}, Resources: []string{"runs"}, Verbs: []string{"get"}}
	for _, cr := range []*rbacv1.ClusterRole{
		{ObjectMeta: metav1.ObjectMeta{Name: name}, AggregationRule: &rbacv1.AggregationRule{
			ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: label}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: name + "-part", Labels: label}, Rules: []rbacv1.PolicyRule{rule}},
	} {
		if _, err := roles.Create(ctx, cr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = roles.Delete(context.Background(), cr.Name, metav1.DeleteOptions{}) })
	}
	waitRules := func(want int) {
		t.Helper()
		var got []rbacv1.PolicyRule
		pollUntil(ctx, t, fmt.Sprintf("ClusterRole %s with %d rule(s)", name, want), func() (bool, error) {
			cr, err := roles.Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				got = cr.Rules
			}
			return len(got) == want, err
		})
	}
	waitRules(1)
	if err := roles.Delete(ctx, name+"-part", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRules(0)
}

const kfpGroup = "pipelines.kubeflow.org"

// sar sends the SubjectAccessReview KFP sends (spec.user only, no groups).
func sar(ctx context.Context, c kubernetes.Interface, user, ns string, row fixtures.MatrixRow) (authzv1.SubjectAccessReviewStatus, error) {
	out, err := c.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{
		Spec: authzv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: &authzv1.ResourceAttributes{
			Namespace: ns, Verb: row.Verb, Group: row.Group, Version: "v1beta1", Resource: row.Resource,
			Subresource: row.Subresource}}}, metav1.CreateOptions{})
	if err != nil {
		return authzv1.SubjectAccessReviewStatus{}, err
	}
	return out.Status, nil
}

// waitForSAR polls until the SubjectAccessReview answers want (the authorizer's informers caught up).
func waitForSAR(ctx context.Context, t *testing.T, c kubernetes.Interface, user, ns string, row fixtures.MatrixRow, want bool) {
	t.Helper()
	pollUntil(ctx, t, fmt.Sprintf("kube-apiserver: %s for %s in %s allowed=%v", row, user, ns, want), func() (bool, error) {
		st, err := sar(ctx, c, user, ns, row)
		return st.Allowed == want, err
	})
}

// pollUntil calls cond every 50ms until it holds, failing the test after 10s or on an error.
func pollUntil(ctx context.Context, t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after 10s", what)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

func describeSAR(s authzv1.SubjectAccessReviewStatus) string {
	out := fmt.Sprintf("allowed=%v denied=%v", s.Allowed, s.Denied)
	if s.Reason != "" {
		out += fmt.Sprintf(" reason=%q", s.Reason)
	}
	if s.EvaluationError != "" {
		out += fmt.Sprintf(" error=%q", s.EvaluationError)
	}
	return out
}
