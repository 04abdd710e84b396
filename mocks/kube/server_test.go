package kube

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// One signing key for the whole test binary: RSA key generation is the slow part of New.
var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func start(t *testing.T) (*Server, kubernetes.Interface, *rest.Config, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	keyOnce.Do(func() { testKey, _ = rsa.GenerateKey(rand.Reader, 2048) })
	s, err := New(Config{Now: c.now, Key: testKey})
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
	return s, kubernetes.NewForConfigOrDie(rc), rc, c
}

func statusOf(t *testing.T, err error) metav1.Status {
	t.Helper()
	var se *apierrors.StatusError
	if !errorsAs(err, &se) {
		t.Fatalf("want a Status error, got %v", err)
	}
	return se.ErrStatus
}

func TestCRUDStatusesAndSelectors(t *testing.T) {
	_, kc, _, _ := start(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-1", Labels: map[string]string{"run": "a"}}}
	if _, err := kc.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := kc.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if st := statusOf(t, err); st.Code != 409 || st.Reason != metav1.StatusReasonAlreadyExists || st.Message != `namespaces "team-1" already exists` {
		t.Errorf("duplicate: %+v", st)
	}
	_, err = kc.CoreV1().ServiceAccounts("team-1").Get(ctx, "nobody", metav1.GetOptions{})
	if st := statusOf(t, err); st.Code != 404 || st.Message != `serviceaccounts "nobody" not found` {
		t.Errorf("missing: %+v", st)
	}
	_, err = kc.CoreV1().ServiceAccounts("no-such-ns").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{})
	if st := statusOf(t, err); st.Code != 404 || st.Message != `namespaces "no-such-ns" not found` {
		t.Errorf("create in a missing namespace: %+v", st)
	}
	_, err = kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "Bad_Name"}}, metav1.CreateOptions{})
	if st := statusOf(t, err); st.Code != 422 || st.Reason != metav1.StatusReasonInvalid {
		t.Errorf("invalid name: %+v", st)
	}
	l, err := kc.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "run=a"})
	if err != nil || len(l.Items) != 1 || l.Items[0].Name != "team-1" || l.Items[0].Status.Phase != corev1.NamespaceActive {
		t.Fatalf("list by label: %v %+v", err, l)
	}
	if _, err := kc.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "run in (("}); err == nil {
		t.Error("a bad selector was accepted")
	}
	if err := kc.CoreV1().Namespaces().Delete(ctx, "team-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = kc.CoreV1().Namespaces().Delete(ctx, "team-1", metav1.DeleteOptions{})
	if st := statusOf(t, err); st.Code != 404 {
		t.Errorf("second delete: %+v", st)
	}
}

func TestAggregationFollowsLabels(t *testing.T) {
	_, kc, _, _ := start(t)
	ctx := context.Background()
	sel := map[string]string{"aggregate-to-edit": "true"}
	edit := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "edit"},
		AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: sel}}}}
	part := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "part", Labels: sel},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"create"}, APIGroups: []string{"pipelines.kubeflow.org"}, Resources: []string{"runs"}}}}
	for _, cr := range []*rbacv1.ClusterRole{edit, part} {
		if _, err := kc.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := kc.RbacV1().ClusterRoles().Get(ctx, "edit", metav1.GetOptions{})
	if err != nil || len(got.Rules) != 1 || got.Rules[0].Verbs[0] != "create" {
		t.Fatalf("aggregated rules: %v %+v", err, got)
	}
	if err := kc.RbacV1().ClusterRoles().Delete(ctx, "part", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, _ = kc.RbacV1().ClusterRoles().Get(ctx, "edit", metav1.GetOptions{})
	if len(got.Rules) != 0 {
		t.Errorf("rules of a deleted part stay aggregated: %+v", got.Rules)
	}
}

func TestTokensReviewsAndForbidden(t *testing.T) {
	s, kc, rc, c := start(t)
	ctx := context.Background()
	for _, o := range []string{"ns-1", "ns-2"} {
		kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o}}, metav1.CreateOptions{})
	}
	sa, err := kc.CoreV1().ServiceAccounts("ns-2").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default-editor"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	short := int64(599)
	_, err = kc.CoreV1().ServiceAccounts("ns-2").CreateToken(ctx, "default-editor", &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &short}}, metav1.CreateOptions{})
	if st := statusOf(t, err); st.Code != 422 || !strings.Contains(st.Message, "may not specify a duration less than 10 minutes") {
		t.Errorf("599 s: %+v", st)
	}
	tr, err := kc.CoreV1().ServiceAccounts("ns-2").CreateToken(ctx, "default-editor", &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{Audiences: []string{"pipelines.kubeflow.org"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := c.t.Add(time.Hour); !tr.Status.ExpirationTimestamp.Time.Equal(want) {
		t.Errorf("expiration %v, want %v (the one-hour default)", tr.Status.ExpirationTimestamp, want)
	}
	parts := strings.Split(tr.Status.Token, ".")
	var hdr, claims map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(hb, &hdr)
	json.Unmarshal(cb, &claims)
	k8s, _ := claims["kubernetes.io"].(map[string]any)
	sac, _ := k8s["serviceaccount"].(map[string]any)
	if hdr["alg"] != "RS256" || hdr["kid"] != s.keyID || claims["iss"] != DefaultIssuer ||
		claims["sub"] != "system:serviceaccount:ns-2:default-editor" || k8s["namespace"] != "ns-2" || sac["uid"] != string(sa.UID) ||
		claims["exp"] == nil || claims["iat"] == nil || claims["nbf"] == nil || claims["jti"] == nil {
		t.Errorf("token shape: header %v claims %v", hdr, claims)
	}
	review := func(token string, auds ...string) authnv1.TokenReviewStatus {
		out, err := kc.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token, Audiences: auds}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return out.Status
	}
	if st := review(tr.Status.Token, "other", "pipelines.kubeflow.org"); !st.Authenticated || !slices.Equal(st.Audiences, []string{"pipelines.kubeflow.org"}) ||
		st.User.Username != "system:serviceaccount:ns-2:default-editor" || !slices.Contains(st.User.Groups, "system:serviceaccounts:ns-2") {
		t.Errorf("good token: %+v", st)
	}
	if st := review(tr.Status.Token); st.Authenticated || st.Error != `[invalid bearer token, token audiences ["pipelines.kubeflow.org"] is invalid for the target audiences ["https://kubernetes.default.svc.cluster.local"]]` {
		t.Errorf("API audience: %+v", st)
	}
	if st := review("not-a-jwt", "pipelines.kubeflow.org"); st.Authenticated || st.Error != "invalid bearer token" {
		t.Errorf("garbage: %+v", st)
	}
	c.t = c.t.Add(time.Hour + 61*time.Second)
	if st := review(tr.Status.Token, "pipelines.kubeflow.org"); st.Authenticated || !strings.Contains(st.Error, "service account token has expired") {
		t.Errorf("expired: %+v", st)
	}

	// The API itself: a ServiceAccount token for the API audience is subject to RBAC.
	api, err := kc.CoreV1().ServiceAccounts("ns-2").CreateToken(ctx, "default-editor", &authnv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	saConf := rest.AnonymousClientConfig(rc)
	saConf.BearerToken = api.Status.Token
	saClient := kubernetes.NewForConfigOrDie(saConf)
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "x"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "admin", APIGroup: rbacv1.GroupName}}
	_, err = saClient.RbacV1().RoleBindings("ns-1").Create(ctx, rb, metav1.CreateOptions{})
	if st := statusOf(t, err); st.Code != 403 || st.Message != `rolebindings.rbac.authorization.k8s.io is forbidden: User "system:serviceaccount:ns-2:default-editor" cannot create resource "rolebindings" in API group "rbac.authorization.k8s.io" in the namespace "ns-1"` {
		t.Errorf("forbidden: %+v", st)
	}
	saConf.BearerToken = "garbage"
	_, err = kubernetes.NewForConfigOrDie(saConf).CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if st := statusOf(t, err); st.Code != 401 || st.Message != "Unauthorized" {
		t.Errorf("bad token: %+v", st)
	}

	// SubjectAccessReview: only the user, as KFP sends it.
	kc.RbacV1().RoleBindings("ns-1").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "allow"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "reader"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default-editor", Namespace: "ns-2"}}}, metav1.CreateOptions{})
	sar := func() authzv1.SubjectAccessReviewStatus {
		out, err := kc.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User: "system:serviceaccount:ns-2:default-editor", ResourceAttributes: &authzv1.ResourceAttributes{
				Namespace: "ns-1", Verb: "list", Group: "pipelines.kubeflow.org", Version: "v1beta1", Resource: "experiments"}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return out.Status
	}
	if st := sar(); st.Allowed || st.Reason != `RBAC: clusterrole.rbac.authorization.k8s.io "reader" not found` {
		t.Errorf("binding to a missing role: %+v", st)
	}
	kc.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "reader"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"list"}, APIGroups: []string{"pipelines.kubeflow.org"}, Resources: []string{"experiments"}}}}, metav1.CreateOptions{})
	if st := sar(); !st.Allowed || st.Reason != `RBAC: allowed by RoleBinding "allow/ns-1" of ClusterRole "reader" to ServiceAccount "default-editor/ns-2"` {
		t.Errorf("allowed: %+v", st)
	}
	_, err = kc.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{}, metav1.CreateOptions{})
	if st := statusOf(t, err); st.Code != 422 {
		t.Errorf("empty SAR: %+v", st)
	}
}
