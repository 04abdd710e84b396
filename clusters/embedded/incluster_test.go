package embedded_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// TestOutsideScriptFromDescription is the acceptance scenario, written as an outside script would be:
// it knows only serve's description (the target file) and uses plain client-go and net/http. A token for
// namespace-2/default-editor with audience pipelines.kubeflow.org is refused in namespace-1 until the
// RoleBinding exists, works while it does, and is refused again once it is deleted; kubeflow-view reads but
// cannot create; the default audience, an expired and an altered token get 401.
func TestOutsideScriptFromDescription(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := profile.Get("kubeflow")
	if err != nil {
		t.Fatal(err)
	}
	stack, err := embedded.Start(ctx, p, embedded.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	descPath := filepath.Join(t.TempDir(), "stack.json")
	b, _ := stack.Description().Marshal()
	if err := os.WriteFile(descPath, b, 0o600); err != nil {
		t.Fatal(err)
	}

	// From here on: only the description.
	desc, err := target.LoadFile(descPath)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Kubeconfig == "" || desc.InClusterAPIURL == "" {
		t.Fatalf("description lacks kubeconfig or in_cluster_api_url: %s", b)
	}
	if fi, err := os.Stat(desc.Kubeconfig); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kubeconfig %s: %v, mode %v; want 0600", desc.Kubeconfig, err, fi.Mode())
	}
	rc, err := clientcmd.BuildConfigFromFlags("", desc.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kc := kubernetes.NewForConfigOrDie(rc)
	for _, ns := range []string{"namespace-1", "namespace-2"} {
		if _, err := kc.CoreV1().Namespaces().Create(ctx, nsObject(ns), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := kc.CoreV1().ServiceAccounts(ns).Create(ctx, saObject(ns, "default-editor"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mint := func(auds []string, secs int64) string {
		tr, err := kc.CoreV1().ServiceAccounts("namespace-2").CreateToken(ctx, "default-editor",
			&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{Audiences: auds, ExpirationSeconds: &secs}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	tok := mint([]string{"pipelines.kubeflow.org"}, 3600)
	call := func(method, path, token, body string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, method, desc.InClusterAPIURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		return resp.StatusCode, string(rb)
	}
	list := func(token string) (int, string) {
		return call("GET", "/apis/v2beta1/experiments?namespace=namespace-1", token, "")
	}
	create := func(token string) (int, string) {
		return call("POST", "/apis/v2beta1/experiments", token, `{"display_name":"x`+time.Now().Format("150405.000000")+`","namespace":"namespace-1"}`)
	}
	if code, body := list(tok); code != 403 || !strings.Contains(body, "system:serviceaccount:namespace-2:default-editor") {
		t.Fatalf("before the RoleBinding: list = %d %s, want 403 naming the service account", code, body)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "allow-namespace-2-kubeflow-edit", Namespace: "namespace-1"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kubeflow-edit"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default-editor", Namespace: "namespace-2"}}}
	if _, err := kc.RbacV1().RoleBindings("namespace-1").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, body := list(tok); code != 200 {
		t.Fatalf("with kubeflow-edit: list = %d %s", code, body)
	}
	if code, body := create(tok); code != 200 || !strings.Contains(body, `"namespace":"namespace-1"`) {
		t.Fatalf("with kubeflow-edit: create = %d %s", code, body)
	}
	if err := kc.RbacV1().RoleBindings("namespace-1").Delete(ctx, rb.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, body := create(tok); code != 403 {
		t.Fatalf("after deleting the RoleBinding: create = %d %s, want 403", code, body)
	}
	rb.Name, rb.RoleRef.Name = "allow-namespace-2-kubeflow-view", "kubeflow-view"
	if _, err := kc.RbacV1().RoleBindings("namespace-1").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, body := list(tok); code != 200 {
		t.Fatalf("with kubeflow-view: list = %d %s", code, body)
	}
	if code, body := create(tok); code != 403 || !strings.Contains(body, "Verb:create") {
		t.Fatalf("with kubeflow-view: create = %d %s, want 403", code, body)
	}
	if code, body := list(mint(nil, 3600)); code != 401 || !strings.Contains(body, "is invalid for the target audiences") {
		t.Fatalf("default audience: list = %d %s, want 401 with the audience reason", code, body)
	}
	altered := tok[:len(tok)-4] + flip(tok[len(tok)-4:])
	if code, body := list(altered); code != 401 || !strings.Contains(body, "Review.Status.Authenticated is false") {
		t.Fatalf("altered token: list = %d %s, want 401", code, body)
	}
	short := mint([]string{"pipelines.kubeflow.org"}, 600)
	stack.Clock.Advance(11 * time.Minute) // past exp plus kube-apiserver's 60 s leeway
	if code, body := list(short); code != 401 || !strings.Contains(body, "service account token has expired") {
		t.Fatalf("expired token: list = %d %s, want 401", code, body)
	}
	if code, _ := list(tok); code != 200 {
		t.Fatalf("the hour-long token should still work after 11 minutes: %d", code)
	}
	var disc map[string]any
	anon := rest.AnonymousClientConfig(rc)
	tr, err := rest.TransportFor(anon)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(strings.TrimSuffix(rc.Host, "/") + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&disc); err != nil || disc["issuer"] != "https://kubernetes.default.svc.cluster.local" {
		t.Fatalf("unauthenticated issuer discovery: %d %v %v", resp.StatusCode, disc, err)
	}
}

func flip(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}
