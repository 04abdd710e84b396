package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// TestAuditCommand: `audit --target` on the embedded kubeflow stack's description passes (its one Profile) and
// writes run JSON; two more tenants, one binding the other's ServiceAccount, make it exit 1 with the grant
// named; a cluster that does not answer is exit 3, and no cluster given is exit 2.
func TestAuditCommand(t *testing.T) {
	stack, desc := startStack(t, "kubeflow")
	if desc.Kubeconfig == "" {
		t.Fatal("the embedded description has no kubeconfig")
	}
	dir := t.TempDir()
	tf := writeTarget(t, dir, desc)
	var stdout, stderr bytes.Buffer
	if code := execute(context.Background(), []string{"audit", "--target", tf}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	r := resultOf(t, decodeRun(t, stdout.String()), "ISO-009")
	if r.Status != result.Pass || r.Audit == nil || r.Audit.Namespaces == 0 || r.Audit.Sampled == 0 {
		t.Fatalf("%s %s: %s %+v", r.Status, r.Reason, r.Message, r.Audit)
	}

	kc := stack.Target().Kube
	ctx := context.Background()
	for _, ns := range []string{"tenant-x", "tenant-y"} {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"app.kubernetes.io/part-of": "kubeflow-profile"}}}
		if _, err := kc.CoreV1().Namespaces().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "share", Namespace: "tenant-x"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kubeflow-edit"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "default-viewer", Namespace: "tenant-y"}}}
	if _, err := kc.RbacV1().RoleBindings("tenant-x").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := execute(ctx, []string{"audit", "--target", tf, "--samples", "20"}, &stdout, &stderr); code != exitUnexpected {
		t.Fatalf("exit %d, want 1\n%s", code, stderr.String())
	}
	r = resultOf(t, decodeRun(t, stdout.String()), "ISO-009")
	if r.Status != result.Fail || r.Reason != result.Unsecured || r.Audit.Unexplained != 1 || r.Audit.Sampled != 20 ||
		!strings.Contains(stderr.String(), "system:serviceaccount:tenant-y:default-viewer (default-viewer of tenant-y) in tenant-x via RoleBinding tenant-x/share") {
		t.Fatalf("%s %s sampled %d\n%s", r.Status, r.Reason, r.Audit.Sampled, stderr.String())
	}

	// A kubeconfig whose server does not answer.
	kcfg := tokenKubeconfig(t, dir, "dead.kubeconfig", deadAddr(t))
	if code := execute(ctx, []string{"audit", "--kubeconfig", kcfg}, &stdout, &stderr); code != exitUnreachable {
		t.Errorf("an unreachable cluster: exit %d, want 3", code)
	}
	if code := execute(ctx, []string{"audit"}, &stdout, &stderr); code != exitUsage {
		t.Errorf("no cluster: exit %d, want 2", code)
	}
}
