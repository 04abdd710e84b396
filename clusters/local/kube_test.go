package local

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"
)

// TestKubeAPIServerAuthChain starts etcd and kube-apiserver and walks the path KFP's API server takes for a
// ServiceAccount token (WIRE-FACTS.md 4): a TokenRequest with audience pipelines.kubeflow.org, a TokenReview with
// that audience, then SubjectAccessReviews as KFP sends them (spec.user only): allowed where a RoleBinding to
// kubeflow-edit exists, denied in a namespace without one. A default-audience token fails the review.
func TestKubeAPIServerAuthChain(t *testing.T) {
	requireTools(t, "etcd", "kube-apiserver")
	s := startStack(t, "standalone", Options{Kube: true})
	k := s.Kube
	if k == nil {
		t.Fatal("no kube-apiserver")
	}
	st, err := os.Stat(k.Kubeconfig)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("kubeconfig %s: %v, mode %v; want 0600", k.Kubeconfig, err, st.Mode().Perm())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []string{"namespace-1", "namespace-2"} {
		must(k.EnsureNamespace(ctx, ns))
	}
	must(k.EnsureServiceAccount(ctx, "namespace-1", "default-editor"))
	must(k.Create(ctx, "/apis/rbac.authorization.k8s.io/v1/clusterroles", map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "kubeflow-edit"},
		"rules": []any{map[string]any{"apiGroups": []string{"pipelines.kubeflow.org"},
			"resources": []string{"experiments", "runs", "pipelines", "jobs"}, "verbs": []string{"get", "list", "create", "delete"}}}}))
	must(k.Create(ctx, "/apis/rbac.authorization.k8s.io/v1/namespaces/namespace-1/rolebindings", map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
		"metadata": map[string]any{"name": "default-editor", "namespace": "namespace-1"},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kubeflow-edit"},
		"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": "default-editor", "namespace": "namespace-1"}}}))

	token, err := k.TokenRequest(ctx, "namespace-1", "default-editor", "pipelines.kubeflow.org", 600)
	must(err)
	s.redactor.Add(token)
	rev, err := k.TokenReview(ctx, token, []string{"pipelines.kubeflow.org"})
	must(err)
	const who = "system:serviceaccount:namespace-1:default-editor"
	if !rev.Authenticated || rev.User.Username != who {
		t.Fatalf("TokenReview: authenticated %v as %q (%s), want %s", rev.Authenticated, rev.User.Username, rev.Error, who)
	}
	// A token for the API server's own audience does not pass a review for pipelines.kubeflow.org.
	other, err := k.TokenRequest(ctx, "namespace-1", "default-editor", ServiceAccountIssuer, 600)
	must(err)
	if rev, err := k.TokenReview(ctx, other, []string{"pipelines.kubeflow.org"}); err != nil || rev.Authenticated {
		t.Errorf("a default-audience token reviewed for pipelines.kubeflow.org: authenticated %v, err %v; want refused", rev != nil && rev.Authenticated, err)
	}
	for _, tc := range []struct {
		ns   string
		want bool
	}{{"namespace-1", true}, {"namespace-2", false}} {
		allowed, reason, err := k.SubjectAccessReview(ctx, who, tc.ns, "list", "pipelines.kubeflow.org", "v1beta1", "experiments")
		must(err)
		if allowed != tc.want {
			t.Errorf("SAR list experiments in %s: allowed %v (%q), want %v", tc.ns, allowed, reason, tc.want)
		}
	}
	// The token works as a credential on the API server itself, where RBAC gives it nothing.
	if code, err := k.DoAs(ctx, token, http.MethodGet, "/api/v1/namespaces/namespace-1/secrets", nil, nil); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("a pipelines.kubeflow.org token listing secrets: %d %v, want 401 or 403", code, err)
	}
}
