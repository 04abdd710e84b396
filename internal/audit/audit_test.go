package audit

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/kube"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// startKube is the embedded tier's Kubernetes stand-in; it answers SubjectAccessReviews by its own RBAC code,
// not rbaceval's, so the sample compares two evaluators.
func startKube(t *testing.T) kubernetes.Interface {
	t.Helper()
	s, err := kube.New(kube.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := s.WriteKubeconfig(p); err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", p)
	if err != nil {
		t.Fatal(err)
	}
	rc.Timeout = 10 * time.Second
	rc.QPS = -1 // no client-side throttling, as the harness's own stand-in client
	return kubernetes.NewForConfigOrDie(rc)
}

// TestAuditNamesEveryCrossNamespaceGrant: three Profiles; a KFAM contributor binding is found and explained; a
// RoleBinding that gives another namespace's ServiceAccount kubeflow-edit is found and fails; so does one that
// names a user without KFAM's annotations. The stand-in's answers agree with the evaluation on the sample.
func TestAuditNamesEveryCrossNamespaceGrant(t *testing.T) {
	kc := startKube(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fx := fixtures.NewKube(kc)
	apply := func(file string, vars map[string]string) {
		t.Helper()
		if err := fx.Apply(ctx, file, vars); err != nil {
			t.Fatal(err)
		}
	}
	apply(fixtures.KubeflowRoles, nil)
	for _, ns := range []string{"team-a", "team-b", "team-c"} {
		apply(fixtures.ProfileNamespace, map[string]string{"NAMESPACE": ns, "OWNER": ns + "@example.com"})
	}
	if err := fx.Contributor(ctx, "team-b", "team-a@example.com"); err != nil {
		t.Fatal(err)
	}
	a, err := Audit(ctx, kc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Namespaces != 3 || a.Pairs != 6 || a.Identities != 9 {
		t.Fatalf("namespaces %d pairs %d identities %d, want 3, 6, 9", a.Namespaces, a.Pairs, a.Identities)
	}
	if len(a.Grants) != 1 || !a.Grants[0].Explained || a.Grants[0].Identity != "team-a@example.com" || a.Grants[0].Namespace != "team-b" ||
		!strings.Contains(a.Grants[0].Explanation, "KFAM") {
		t.Fatalf("grants %+v, want team-a's owner in team-b, explained by KFAM", a.Grants)
	}
	if len(a.Disagreements) != 0 || a.Sampled == 0 {
		t.Fatalf("sampled %d, disagreements %v", a.Sampled, a.Disagreements)
	}
	if r := Result(a); r.Status != result.Pass {
		t.Fatalf("with only KFAM's binding: %s %s: %s", r.Status, r.Reason, r.Message)
	}

	apply(fixtures.CrossNamespaceEdit, map[string]string{"FROM": "team-c", "TO": "team-a"})
	a, err = Audit(ctx, kc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := Result(a)
	if r.Status != result.Fail || r.Reason != result.Unsecured || a.Unexplained != 1 ||
		!strings.Contains(r.Actual, "system:serviceaccount:team-c:default-editor (default-editor of team-c) in team-a via RoleBinding team-a/") {
		t.Fatalf("a ServiceAccount bound across namespaces: %s %s %d\n%s", r.Status, r.Reason, a.Unexplained, r.Actual)
	}
	if len(a.Disagreements) != 0 {
		t.Fatalf("disagreements %v", a.Disagreements)
	}
	// Left out of the audit (a run's own fixtures), the namespace's grants go with it.
	a, err = Audit(ctx, kc, Options{Skip: func(ns *corev1.Namespace) bool { return ns.Name == "team-a" }})
	if err != nil {
		t.Fatal(err)
	}
	if a.Namespaces != 2 || a.Unexplained != 0 {
		t.Fatalf("skipped team-a: %d namespaces, %d unexplained", a.Namespaces, a.Unexplained)
	}
}
