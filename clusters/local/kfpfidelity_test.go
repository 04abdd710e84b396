package local

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	kfpmock "github.com/kfp-authcheck/kfp-authcheck/mocks/kfpapi"
)

// kfpFidelityCase is one call sent to both the stand-in and the real server.
type kfpFidelityCase struct {
	name, method, path string
	body               any
	header             map[string]string
}

// kfpShape is what the comparison looks at: status, gRPC code, the error body's top-level keys, and its message.
type kfpShape struct {
	status  int
	code    int
	keys    string
	message string
}

func shapeOf(c kfpCall) kfpShape {
	s := kfpShape{status: c.Status, code: c.Code}
	var m map[string]any
	if json.Unmarshal([]byte(c.Body), &m) != nil {
		s.keys = "(not JSON)"
		s.message = strings.TrimSpace(c.Body)
		return s
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s.keys = strings.Join(keys, ",")
	for _, k := range []string{"message", "error"} {
		if v, ok := m[k].(string); ok {
			s.message = v
			break
		}
	}
	return s
}

// TestKFPAPIFidelity sends the same calls to the KFP API stand-in (mocks/kfpapi, with the same kube-apiserver
// for TokenReviews and SubjectAccessReviews) and to the real KFP API server, and compares status code, gRPC code
// and the error body's shape (top-level keys and message; an error body byte for byte). A difference in status,
// code or error body fails: fix the stand-in, or explain it in docs/fidelity.md ("KFP API") and compare less
// here. The whole table is logged (go test -v).
func TestKFPAPIFidelity(t *testing.T) {
	requireRealKFP(t)
	s := startStack(t, "kubeflow-1.10", Options{KFP: KFPReal}) // grpc-gateway v1 bodies, as the real server built here
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	fx, client := seedNamespaces(ctx, t, s)
	p := s.Profile
	mock, err := kfpmock.New(kfpmock.Config{MultiUser: true, UserIDHeader: p.KFP.UserIDHeader, UserIDPrefix: p.KFP.UserIDPrefix,
		ErrorFormat: p.KFP.ErrorFormat, Authorizer: kfpmock.KubeAuthorizer{Client: client},
		TokenReviewer: kfpmock.KubeTokenReviewer{Client: client}})
	if err != nil {
		t.Fatal(err)
	}
	standIn := httptest.NewServer(mock.APIHandler())
	defer standIn.Close()

	if err := fx.Apply(ctx, fixtures.CrossNamespaceEdit, map[string]string{"FROM": "namespace-2", "TO": "namespace-1"}); err != nil {
		t.Fatal(err)
	}
	sa, saDefault := seedToken(ctx, t, s, "pipelines.kubeflow.org"), seedToken(ctx, t, s, ServiceAccountIssuer)
	owner := s.Users[0]
	header := p.KFP.UserIDHeader
	const list2, list1 = "/apis/v2beta1/experiments?namespace=", "/apis/v1beta1/experiments?resource_reference_key.type=NAMESPACE&resource_reference_key.id="
	cases := []kfpFidelityCase{
		{name: "v2beta1 list, no identity", method: "GET", path: list2 + owner.Namespace},
		{name: "v1beta1 list, no identity", method: "GET", path: list1 + owner.Namespace},
		{name: "v2beta1 list, user without RBAC", method: "GET", path: list2 + owner.Namespace, header: map[string]string{header: "nobody@example.com"}},
		{name: "v1beta1 list, user without RBAC", method: "GET", path: list1 + owner.Namespace, header: map[string]string{header: "nobody@example.com"}},
		{name: "v2beta1 list, profile owner", method: "GET", path: list2 + owner.Namespace, header: map[string]string{header: owner.Email}},
		{name: "v2beta1 list, no namespace", method: "GET", path: "/apis/v2beta1/experiments", header: map[string]string{header: owner.Email}},
		{name: "v1beta1 list, no namespace", method: "GET", path: "/apis/v1beta1/experiments", header: map[string]string{header: owner.Email}},
		{name: "v2beta1 create, no namespace", method: "POST", path: "/apis/v2beta1/experiments", body: map[string]any{"display_name": "x"},
			header: map[string]string{header: owner.Email}},
		{name: "v2beta1 list, SA with binding", method: "GET", path: list2 + "namespace-1", header: map[string]string{"Authorization": sa}},
		{name: "v2beta1 create, SA with binding", method: "POST", path: "/apis/v2beta1/experiments",
			body: map[string]any{"display_name": "fidelity", "namespace": "namespace-1"}, header: map[string]string{"Authorization": sa}},
		{name: "v2beta1 list, SA without binding", method: "GET", path: list2 + owner.Namespace, header: map[string]string{"Authorization": sa}},
		{name: "v2beta1 list, default-audience token", method: "GET", path: list2 + "namespace-1", header: map[string]string{"Authorization": saDefault}},
		{name: "v2beta1 list, not a JWT", method: "GET", path: list2 + "namespace-1", header: map[string]string{"Authorization": "Bearer not-a-token"}},
		{name: "unknown path under /apis/v2beta1", method: "GET", path: "/apis/v2beta1/nothing", header: map[string]string{header: owner.Email}},
		{name: "unknown path outside /apis", method: "GET", path: "/nothing"},
		{name: "v1beta1 healthz", method: "GET", path: "/apis/v1beta1/healthz"},
		{name: "v2beta1 healthz", method: "GET", path: "/apis/v2beta1/healthz"},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| call | stand-in | real | same |\n| --- | --- | --- | --- |\n")
	for _, c := range cases {
		m, err := callKFP(ctx, standIn.URL, c.method, c.path, c.body, c.header)
		if err != nil {
			t.Fatalf("%s against the stand-in: %v", c.name, err)
		}
		r, err := callKFP(ctx, s.KFP.URL, c.method, c.path, c.body, c.header)
		if err != nil {
			t.Fatalf("%s against the real server: %v", c.name, err)
		}
		ms, rs := shapeOf(m), shapeOf(r)
		var diff []string
		if ms.status != rs.status {
			diff = append(diff, "status")
		}
		if ms.code != rs.code {
			diff = append(diff, "code")
		}
		if ms.keys != rs.keys {
			diff = append(diff, "keys")
		}
		if ms.message != rs.message {
			diff = append(diff, "message")
		}
		// An error body is compared whole (details included); a 2xx body holds IDs and times.
		if r.Status/100 != 2 && strings.TrimSpace(m.Body) != strings.TrimSpace(r.Body) {
			diff = append(diff, "body")
		}
		same := "yes"
		if len(diff) > 0 {
			same = "differs: " + strings.Join(diff, ", ")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.name, s.redactor.String(cell(ms)), s.redactor.String(cell(rs)), same)
		if ms.status != rs.status || ms.code != rs.code || strings.Contains(same, "body") {
			t.Errorf("%s: stand-in %d (code %d), real server %d (code %d): %s", c.name, ms.status, ms.code, rs.status, rs.code,
				s.redactor.String(r.Body))
		}
	}
	t.Logf("KFP API: the stand-in against the real server %s\n%s", s.Versions["kfp-apiserver"], b.String())
}

func cell(s kfpShape) string {
	code := ""
	if s.code >= 0 {
		code = fmt.Sprintf(" code %d", s.code)
	}
	msg := s.message
	if len(msg) > 160 {
		msg = msg[:160] + "..."
	}
	return strings.ReplaceAll(fmt.Sprintf("%d%s {%s} %q", s.status, code, s.keys, msg), "|", "\\|")
}
