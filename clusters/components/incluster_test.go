package components_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// TestInClusterUIPolicy: ml-pipeline-ui's AuthorizationPolicy stand-in. Kubeflow 1.9 lets a request through when it
// has an Authorization header and no identity header; 1.8 refuses every in-cluster caller; both with Envoy's 403.
func TestInClusterUIPolicy(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, c := range []struct {
		policy  string
		headers map[string]string
		want    int
	}{
		{"authorization-without-userid", map[string]string{"Authorization": "Bearer x"}, http.StatusOK},
		{"authorization-without-userid", map[string]string{"Authorization": "Bearer x", "kubeflow-userid": "a@b.c"}, http.StatusForbidden},
		{"authorization-without-userid", map[string]string{"kubeflow-userid": "a@b.c"}, http.StatusForbidden},
		{"authorization-without-userid", nil, http.StatusForbidden},
		{"gateway-only", map[string]string{"Authorization": "Bearer x"}, http.StatusForbidden},
	} {
		p := &profile.Profile{MultiUser: true, KFP: profile.KFP{UserIDHeader: "kubeflow-userid", UIPolicy: c.policy}}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/apis/v2beta1/experiments", nil)
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		components.InClusterUIHandler(p, ok).ServeHTTP(rec, req)
		if rec.Code != c.want || (c.want == http.StatusForbidden && rec.Body.String() != "RBAC: access denied") {
			t.Errorf("%s %v: %d %q, want %d", c.policy, c.headers, rec.Code, rec.Body.String(), c.want)
		}
	}
}
