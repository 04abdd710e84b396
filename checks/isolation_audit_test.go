package checks

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// TestISO009FailsOnATenantsForeignBinding: two tenants of the cluster (profile namespaces that are not the
// run's fixtures), one of which binds the other's default-editor to kubeflow-edit without KFAM: ISO-009 names
// the grant and fails; without that binding it passes.
func TestISO009FailsOnATenantsForeignBinding(t *testing.T) {
	env := brokenStack(t, "kubeflow", func(*profile.Profile) {})
	if r := runCheck(t, env, "ISO-009"); r.Status != result.Pass || r.Audit == nil || len(r.Audit.Grants) == 0 {
		t.Fatalf("a clean cluster: %s %s: %s\n%s", r.Status, r.Reason, r.Message, r.Actual)
	}
	kc := env.Target.Kube
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, ns := range []string{"tenant-x", "tenant-y"} {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"app.kubernetes.io/part-of": "kubeflow-profile"}}}
		if _, err := kc.CoreV1().Namespaces().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "share-with-y", Namespace: "tenant-x"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kubeflow-edit"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "default-editor", Namespace: "tenant-y"}}}
	if _, err := kc.RbacV1().RoleBindings("tenant-x").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := runCheck(t, env, "ISO-009")
	if r.Status != result.Fail || r.Reason != result.Unsecured ||
		!strings.Contains(r.Actual, "system:serviceaccount:tenant-y:default-editor (default-editor of tenant-y) in tenant-x via RoleBinding tenant-x/share-with-y") {
		t.Fatalf("a foreign binding: %s %s: %s\n%s", r.Status, r.Reason, r.Message, r.Actual)
	}
}
