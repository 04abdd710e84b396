package local

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// TestKubeAPIServerAuthChain starts etcd and kube-apiserver and walks the path KFP's API server takes for a
// ServiceAccount token (WIRE-FACTS.md 4): a TokenRequest with audience pipelines.kubeflow.org, a TokenReview with
// that audience, then SubjectAccessReviews as KFP sends them (spec.user only): allowed where a RoleBinding to
// kubeflow-edit exists, denied in a namespace without one. A default-audience token fails the review.
func TestKubeAPIServerAuthChain(t *testing.T) {
	requireTools(t, "etcd", "kube-apiserver", "kube-controller-manager")
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

// TestUnaggregated is the start-up wait's test of kube-controller-manager's aggregation: a chain (admin over edit
// over view) counts as aggregated only when every link holds its parts' rules.
func TestUnaggregated(t *testing.T) {
	rule := func(verb string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{kfpGroup}, Resources: []string{"runs"}, Verbs: []string{verb}}
	}
	role := func(name, label, selects string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
		cr := rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
		if label != "" {
			cr.Labels = map[string]string{label: "true"}
		}
		if selects != "" {
			cr.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
				{MatchLabels: map[string]string{selects: "true"}}}}
		}
		return cr
	}
	get, create := rule("get"), rule("create")
	for _, tc := range []struct {
		name  string
		roles []rbacv1.ClusterRole
		want  string
	}{
		{"converged", []rbacv1.ClusterRole{
			role("view", "to-edit", "to-view", get), role("view-part", "to-view", "", get),
			role("edit", "to-admin", "to-edit", get, create), role("edit-part", "to-edit", "", create),
			role("admin", "", "to-admin", create, get)}, ""},
		{"edit not yet", []rbacv1.ClusterRole{
			role("view", "to-edit", "to-view", get), role("view-part", "to-view", "", get),
			role("edit", "to-admin", "to-edit"), role("edit-part", "to-edit", "", create),
			role("admin", "", "to-admin")}, "edit lacks a rule of view"},
		{"admin behind edit", []rbacv1.ClusterRole{
			role("view", "to-edit", "to-view", get), role("view-part", "to-view", "", get),
			role("edit", "to-admin", "to-edit", get, create), role("edit-part", "to-edit", "", create),
			role("admin", "", "to-admin", create)}, "admin lacks a rule of edit"},
		{"nothing selected", []rbacv1.ClusterRole{role("lonely", "", "to-nobody")}, ""},
	} {
		pending, err := unaggregated(tc.roles)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := ""
		if pending != nil {
			got = pending.Error()
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestKubeControllerManager: the controllers the tier runs beside kube-apiserver do their work. A new namespace
// gets its "default" ServiceAccount (serviceaccount), a legacy token Secret gets its token (serviceaccount-token),
// and deleting a namespace that holds objects empties and removes it (namespace) — without that controller a
// deleted namespace stayed Terminating.
func TestKubeControllerManager(t *testing.T) {
	requireTools(t, "etcd", "kube-apiserver", "kube-controller-manager")
	s := startStack(t, "standalone", Options{Kube: true})
	if v := s.Versions["kube-controller-manager"]; v == "" || v == "unknown" {
		t.Errorf("Versions[kube-controller-manager] = %q, want the pin", v)
	}
	c := s.kube.client
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const ns = "kcm-test"
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pollUntil(ctx, t, "ServiceAccount "+ns+"/default", func() (bool, error) {
		_, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	sec, err := c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "default-token", Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"}},
		Type:       corev1.SecretTypeServiceAccountToken}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pollUntil(ctx, t, "token of Secret "+ns+"/"+sec.Name, func() (bool, error) {
		got, err := c.CoreV1().Secrets(ns).Get(ctx, sec.Name, metav1.GetOptions{})
		return err == nil && len(got.Data[corev1.ServiceAccountTokenKey]) > 0, err
	})

	cur, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.CoreV1().Namespaces().Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + ns, ResourceVersion: cur.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	start := time.Now()
	if err := c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for gone := false; !gone; {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("the namespace watch ended before the namespace was removed")
			}
			gone = ev.Type == watch.Deleted
		case <-ctx.Done():
			t.Fatalf("namespace %s still there after its deletion: %v", ns, ctx.Err())
		}
	}
	t.Logf("namespace %s (a ServiceAccount and a token Secret) removed %s after its deletion", ns, time.Since(start).Round(time.Millisecond))
	if _, err := c.CoreV1().Secrets(ns).Get(ctx, sec.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Secret %s/%s after the namespace went: %v, want not found", ns, sec.Name, err)
	}
}
