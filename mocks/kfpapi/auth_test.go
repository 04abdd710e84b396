package kfpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

const (
	noIdentityChain = "Unauthenticated: Failed to check authorization. User identity is empty in the request header: " +
		"Unauthenticated: Request header error: there is no user identity header.: Request header error: there is no user identity header."
	noIdentityExternal = "Failed to check authorization. User identity is empty in the request header"
	headerMissing      = "Unauthenticated: Request header error: there is no user identity header.: Request header error: there is no user identity header."
)

// timeoutErr is a net.Error that timed out, as a SubjectAccessReview call can.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "context deadline exceeded" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func attrsString(ns, verb, resource, name string) string {
	return fmt.Sprintf("&ResourceAttributes{Namespace:%s,Verb:%s,Group:pipelines.kubeflow.org,Version:v1beta1,Resource:%s,Subresource:,Name:%s,}", ns, verb, resource, name)
}

// TestAuthErrorPaths walks the order of checks in the real server for each error it can give.
func TestAuthErrorPaths(t *testing.T) {
	listExps := "/apis/v2beta1/experiments?namespace=" + nsA
	cases := []struct {
		name       string
		cfg        Config
		method     string
		target     string
		body       string
		headers    []string
		wantStatus int
		wantCode   int
		wantMsg    string
		wantDetail string
		wantAsked  bool
	}{
		{
			name: "empty namespace is refused before authentication", method: "GET", target: "/apis/v2beta1/experiments",
			wantStatus: 400, wantCode: 3,
			wantMsg:    "List experiments failed: Failed to authorize with API: Invalid input error: An experiment cannot have an empty namespace in multi-user mode",
			wantDetail: "An experiment cannot have an empty namespace in multi-user mode",
		},
		{
			name: "empty namespace on v1 create", method: "POST", target: "/apis/v1beta1/experiments", body: `{"name":"e"}`,
			headers: []string{"kubeflow-userid", alice}, wantStatus: 400, wantCode: 3,
			wantMsg:    "Failed to create a v1beta1 experiment: Failed to authorize the request: Invalid input error: An experiment cannot have an empty namespace in multi-user mode",
			wantDetail: "An experiment cannot have an empty namespace in multi-user mode",
		},
		{
			name: "runs with empty namespace", method: "GET", target: "/apis/v2beta1/runs",
			wantStatus: 400, wantCode: 3,
			wantMsg:    "Failed to list runs: Failed to list runs due to authorization error. Check if you have permission to access namespace : Invalid input error: A run cannot have an empty namespace in multi-user mode",
			wantDetail: "A run cannot have an empty namespace in multi-user mode",
		},
		{
			name: "no identity", method: "GET", target: listExps, wantStatus: 401, wantCode: 16,
			wantMsg:    "List experiments failed: Failed to authorize with API: Failed to authorize with API: " + noIdentityChain,
			wantDetail: noIdentityExternal,
		},
		{
			name: "wrong prefix falls through to TokenReview and ends unauthenticated", cfg: Config{UserIDPrefix: "accounts.google.com:"},
			method: "GET", target: listExps, headers: []string{"kubeflow-userid", alice}, wantStatus: 401, wantCode: 16,
			wantMsg: "List experiments failed: Failed to authorize with API: Failed to authorize with API: Unauthenticated: " + noIdentityExternal +
				": [BadRequestError: Header 'kubeflow-userid' is incorrectly formatted. Expected prefix 'accounts.google.com:': Header 'kubeflow-userid' is incorrectly formatted. Expected prefix 'accounts.google.com:', " +
				headerMissing + "]",
			wantDetail: noIdentityExternal,
		},
		{
			name: "two identity headers", method: "GET", target: listExps, headers: []string{"kubeflow-userid", alice, "kubeflow-userid", bob},
			wantStatus: 401, wantCode: 16,
			wantMsg: "List experiments failed: Failed to authorize with API: Failed to authorize with API: Unauthenticated: " + noIdentityExternal +
				": [BadRequestError: Request header error: unexpected number of 'kubeflow-userid' headers. Expect 1 got 2: Request header error: unexpected number of 'kubeflow-userid' headers. Expect 1 got 2, " +
				headerMissing + "]",
			wantDetail: noIdentityExternal,
		},
		{
			name: "bearer token that TokenReview rejects", cfg: Config{TokenReviewer: tokenMap{"good": alice}},
			method: "GET", target: listExps, headers: []string{"Authorization", "Bearer bad"}, wantStatus: 401, wantCode: 16,
			wantMsg: "List experiments failed: Failed to authorize with API: Failed to authorize with API: Unauthenticated: " + noIdentityExternal +
				": [" + headerMissing + ", Authentication failure: Unauthenticated: Review.Status.Authenticated is false. Error : Failed to authenticate token review]",
			wantDetail: noIdentityExternal,
		},
		{
			name: "denied by the authorizer", method: "GET", target: "/apis/v1beta1/runs?resource_reference_key.type=NAMESPACE&resource_reference_key.id=" + nsA,
			headers: []string{"kubeflow-userid", bob}, wantStatus: 403, wantCode: 7, wantAsked: true,
			wantMsg: "Failed to list v1beta1 runs: Failed to list runs due to authorization error. Check if you have permission to access namespace " + nsA +
				": Failed to access run . Check if you have access to namespace " + nsA + ": PermissionDenied: User 'bob@example.com' is not authorized with reason:  (request: " +
				attrsString(nsA, "list", "runs", "") + "): Unauthorized access",
			wantDetail: "User 'bob@example.com' is not authorized with reason:  (request: " + attrsString(nsA, "list", "runs", "") + ")",
		},
		{
			name: "authorizer error", cfg: Config{Authorizer: authorizerFunc(func(context.Context, string, ResourceAttributes) (bool, string, error) {
				return false, "", errors.New("sar: connection refused")
			})},
			method: "GET", target: listExps, headers: []string{"kubeflow-userid", alice}, wantStatus: 500, wantCode: 13,
			wantMsg: "List experiments failed: Failed to authorize with API: Failed to authorize with API: InternalServerError: Failed to create SubjectAccessReview for user 'alice@example.com' (request: " +
				attrsString(nsA, "list", "experiments", "") + "): sar: connection refused",
			wantDetail: "Internal Server Error",
		},
		{
			name: "authorizer timeout", cfg: Config{Authorizer: authorizerFunc(func(context.Context, string, ResourceAttributes) (bool, string, error) {
				return false, "", timeoutErr{}
			})},
			method: "GET", target: listExps, headers: []string{"kubeflow-userid", alice}, wantStatus: 503, wantCode: 14,
			wantMsg: "List experiments failed: Failed to authorize with API: Failed to authorize with API: ServiceUnavailable: Failed to create SubjectAccessReview for user 'alice@example.com' (request: " +
				attrsString(nsA, "list", "experiments", "") + ") - try again later: context deadline exceeded",
			wantDetail: "Service unavailable",
		},
		{
			name: "unknown experiment id answers 404 before authentication", method: "GET", target: "/apis/v2beta1/experiments/nope",
			wantStatus: 404, wantCode: 5,
			wantMsg:    "Failed to fetch experiment: Failed to authorize the request: Failed to authorize with the experiment ID: ResourceNotFoundError: Experiment nope not found",
			wantDetail: "Experiment nope not found",
		},
		{
			name: "empty name is an internal error before authorization", method: "POST", target: "/apis/v2beta1/experiments", body: `{"namespace":"` + nsA + `"}`,
			wantStatus: 500, wantCode: 13,
			wantMsg:    "[ExperimentServer]: Failed to create a experiment due to conversion error: InternalServerError: Failed to convert API experiment to model experiment: Invalid input error: Experiment must have a non-empty name",
			wantDetail: "Internal Server Error",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.MultiUser = true
			s, rec := newTestServer(t, tc.cfg)
			a := call(t, s.APIHandler(), tc.method, tc.target, tc.body, tc.headers...)
			if a.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", a.status, tc.wantStatus, a.body)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			m := a.json(t)
			if m["error"] != tc.wantMsg || m["message"] != tc.wantMsg {
				t.Errorf("error/message =\n %q\n %q\nwant\n %q", m["error"], m["message"], tc.wantMsg)
			}
			if m["code"] != float64(tc.wantCode) {
				t.Errorf("code = %v, want %d", m["code"], tc.wantCode)
			}
			details, _ := m["details"].([]any)
			if len(details) != 1 {
				t.Fatalf("details = %v", m["details"])
			}
			d := details[0].(map[string]any)
			if d["@type"] != "type.googleapis.com/google.rpc.Status" || d["code"] != float64(tc.wantCode) || d["message"] != tc.wantDetail {
				t.Errorf("details[0] = %v, want message %q", d, tc.wantDetail)
			}
			if _, asked := rec.last(); (asked != ResourceAttributes{}) != tc.wantAsked {
				t.Errorf("authorizer asked = %v, want %v", asked != ResourceAttributes{}, tc.wantAsked)
			}
		})
	}
}

// TestPermissionDeniedBodyV1 pins the whole body against the real one quoted in WIRE-FACTS 1.6, including
// jsonpb's escaping of "&".
func TestPermissionDeniedBodyV1(t *testing.T) {
	s, _ := newTestServer(t, Config{MultiUser: true})
	sa := "system:serviceaccount:default:default"
	a := call(t, s.APIHandler(), "GET", "/apis/v1beta1/runs?resource_reference_key.type=NAMESPACE&resource_reference_key.id="+nsA, "", "kubeflow-userid", sa)
	ext := "User '" + sa + "' is not authorized with reason:  (request: " + attrsString(nsA, "list", "runs", "") + ")"
	msg := "Failed to list v1beta1 runs: Failed to list runs due to authorization error. Check if you have permission to access namespace " + nsA +
		": Failed to access run . Check if you have access to namespace " + nsA + ": PermissionDenied: " + ext + ": Unauthorized access"
	esc := func(s string) string { return strings.ReplaceAll(s, "&", `\u0026`) }
	want := `{"error":"` + esc(msg) + `","code":7,"message":"` + esc(msg) + `","details":[{"@type":"type.googleapis.com/google.rpc.Status","code":7,"message":"` + esc(ext) + `"}]}`
	if a.status != http.StatusForbidden || a.body != want {
		t.Fatalf("got %d\n%s\nwant 403\n%s", a.status, a.body, want)
	}
}

// TestErrorFormatV2 checks the grpc-gateway v2 shape: no "error" key, WWW-Authenticate on 401, HTML not
// escaped, and the selector fields newer k8s.io/api prints.
func TestErrorFormatV2(t *testing.T) {
	s, _ := newTestServer(t, Config{MultiUser: true, ErrorFormat: ErrorFormatV2})
	h := s.APIHandler()

	a := call(t, h, "GET", "/apis/v2beta1/runs?namespace="+nsA, "")
	if a.status != 401 {
		t.Fatalf("status = %d", a.status)
	}
	m := a.json(t)
	if _, has := m["error"]; has {
		t.Errorf("v2 body has an error key: %s", a.body)
	}
	if m["code"] != float64(16) {
		t.Errorf("code = %v", m["code"])
	}
	if got := a.header.Get("WWW-Authenticate"); got == "" || got != m["message"] {
		t.Errorf("WWW-Authenticate = %q, want the status message %q", got, m["message"])
	}

	a = call(t, h, "GET", "/apis/v2beta1/runs?namespace="+nsA, "", "kubeflow-userid", bob)
	if a.status != 403 || a.header.Get("WWW-Authenticate") != "" {
		t.Fatalf("status = %d, WWW-Authenticate = %q", a.status, a.header.Get("WWW-Authenticate"))
	}
	wantAttrs := "&ResourceAttributes{Namespace:" + nsA + ",Verb:list,Group:pipelines.kubeflow.org,Version:v1beta1,Resource:runs,Subresource:,Name:,FieldSelector:nil,LabelSelector:nil,}"
	if !strings.Contains(a.body, wantAttrs) {
		t.Errorf("body lacks unescaped %q: %s", wantAttrs, a.body)
	}
}

// TestIdentitySources covers who the authorizer is asked about.
func TestIdentitySources(t *testing.T) {
	cases := []struct {
		name     string
		cfg      Config
		headers  []string
		wantUser string
	}{
		{"header", Config{}, []string{"kubeflow-userid", alice}, alice},
		{"header with prefix", Config{UserIDHeader: "x-goog-authenticated-user-email", UserIDPrefix: "accounts.google.com:"},
			[]string{"X-Goog-Authenticated-User-Email", "accounts.google.com:" + alice}, alice},
		{"bearer via TokenReview", Config{TokenReviewer: tokenMap{"good": "system:serviceaccount:" + nsA + ":default-editor"}},
			[]string{"Authorization", "Bearer good"}, "system:serviceaccount:" + nsA + ":default-editor"},
		{"header wins over bearer", Config{TokenReviewer: tokenMap{"good": bob}},
			[]string{"kubeflow-userid", alice, "Authorization", "Bearer good"}, alice},
		{"bad header prefix, good bearer", Config{UserIDPrefix: "p:", TokenReviewer: tokenMap{"good": alice}},
			[]string{"kubeflow-userid", alice, "Authorization", "Bearer good"}, alice},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.MultiUser = true
			s, rec := newTestServer(t, tc.cfg)
			a := call(t, s.APIHandler(), "GET", "/apis/v2beta1/experiments?namespace="+nsA, "", tc.headers...)
			if a.status != 200 || a.body != "{}" {
				t.Fatalf("got %d %s, want 200 {}", a.status, a.body)
			}
			user, attrs := rec.last()
			if user != tc.wantUser {
				t.Errorf("user = %q, want %q", user, tc.wantUser)
			}
			want := ResourceAttributes{Namespace: nsA, Verb: "list", Group: RBACGroup, Version: RBACVersion, Resource: "experiments"}
			if attrs != want {
				t.Errorf("attrs = %+v, want %+v", attrs, want)
			}
		})
	}
}

func TestNilTokenReviewerFailsBearer(t *testing.T) {
	s, rec := newTestServer(t, Config{MultiUser: true})
	a := call(t, s.APIHandler(), "GET", "/apis/v2beta1/experiments?namespace="+nsA, "", "Authorization", "Bearer anything")
	if a.status != 401 || !strings.Contains(a.body, "Request header error: Failed to review the token provided") {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	if strings.Contains(a.body, "anything") {
		t.Errorf("the token leaked into the body: %s", a.body)
	}
	if user, _ := rec.last(); user != "" {
		t.Errorf("authorizer was asked about %q", user)
	}
}

func TestSingleUserModeSkipsAuth(t *testing.T) {
	s, rec := newTestServer(t, Config{MultiUser: false})
	h := s.APIHandler()
	a := call(t, h, "POST", "/apis/v2beta1/experiments", `{"display_name":"e1","namespace":"ignored"}`)
	if a.status != 200 {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	if _, has := a.json(t)["namespace"]; has {
		t.Errorf("single-user create kept a namespace: %s", a.body)
	}
	a = call(t, h, "GET", "/apis/v2beta1/experiments", "")
	if a.status != 200 || !strings.Contains(a.body, `"total_size":1`) {
		t.Fatalf("list: %d %s", a.status, a.body)
	}
	if user, _ := rec.last(); user != "" {
		t.Errorf("authorizer consulted in single-user mode")
	}
}

func TestProfileAuthorizer(t *testing.T) {
	p := ProfileAuthorizer{Members: map[string][]string{nsA: {alice}}}
	cases := []struct {
		user, ns, group string
		want            bool
	}{
		{alice, nsA, RBACGroup, true},
		{"ALICE@example.com", nsA, RBACGroup, true},
		{bob, nsA, RBACGroup, false},
		{alice, "other", RBACGroup, false},
		{"system:serviceaccount:" + nsA + ":default-editor", nsA, RBACGroup, true},
		{"system:serviceaccount:default:default", nsA, RBACGroup, false},
		{alice, nsA, "kubeflow.org", false},
	}
	for _, tc := range cases {
		got, reason, err := p.Authorize(context.Background(), tc.user, ResourceAttributes{Namespace: tc.ns, Verb: "create", Group: tc.group})
		if got != tc.want || reason != "" || err != nil {
			t.Errorf("Authorize(%q, %q, %q) = %v, %q, %v; want %v", tc.user, tc.ns, tc.group, got, reason, err, tc.want)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(Config{MultiUser: true}); err == nil {
		t.Error("multi-user without an Authorizer was accepted")
	}
	if _, err := New(Config{ErrorFormat: "grpc-gateway-v3"}); err == nil {
		t.Error("unknown error format was accepted")
	}
}
