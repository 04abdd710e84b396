package kfpapi

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	nsB      = "kubeflow-user-bob"
	noopSpec = "pipelineInfo: {name: noop}\nroot: {dag: {tasks: {}}}\nschemaVersion: 2.1.0\n"
)

func twoTenants(t *testing.T, fixed bool) (*Server, http.Handler) {
	t.Helper()
	s, _ := newTestServer(t, Config{MultiUser: true, AuthorizePipelineReferences: fixed,
		Authorizer: ProfileAuthorizer{Members: map[string][]string{nsA: {alice}, nsB: {bob}}}})
	return s, s.APIHandler()
}

func upload(t *testing.T, h http.Handler, user, namespace, spec string) answer {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile(uploadFormKey, "p.yaml")
	_, _ = fw.Write([]byte(spec))
	_ = mw.Close()
	req := httptest.NewRequest(http.MethodPost, "/apis/v2beta1/pipelines/upload?name=private&namespace="+namespace, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("kubeflow-userid", user)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

func as(user string) []string { return []string{"kubeflow-userid", user} }

func idOf(t *testing.T, a answer, key string) string {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	id, _ := a.json(t)[key].(string)
	if id == "" {
		t.Fatalf("no %s in %s", key, a.body)
	}
	return id
}

func TestPrivatePipelineIsolation(t *testing.T) {
	_, h := twoTenants(t, false)
	if a := upload(t, h, bob, nsA, noopSpec); a.status != http.StatusBadRequest ||
		!strings.Contains(a.body, `"error_message"`) || !strings.Contains(a.body, "is not authorized") ||
		!strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("bob uploading into alice's namespace: %d %q %q (want the upload server's 400)", a.status, a.header.Get("Content-Type"), a.body)
	}
	if a := upload(t, h, alice, nsA, "not: a pipeline"); a.status != http.StatusBadRequest {
		t.Fatalf("a file that is no pipeline spec: %d %s", a.status, a.body)
	}
	pid := idOf(t, upload(t, h, alice, nsA, noopSpec), "pipeline_id")
	for _, tc := range []struct {
		user, method, path string
		status             int
	}{
		{bob, "GET", "/apis/v2beta1/pipelines?namespace=" + nsA, 403},
		{bob, "GET", "/apis/v2beta1/pipelines/" + pid, 403},
		{bob, "GET", "/apis/v2beta1/pipelines/" + pid + "/versions", 403},
		{bob, "DELETE", "/apis/v2beta1/pipelines/" + pid, 403},
		{alice, "GET", "/apis/v2beta1/pipelines/" + pid, 200},
		{bob, "GET", "/apis/v2beta1/pipelines", 200}, // shared pipelines: no authorization at all
		{alice, "DELETE", "/apis/v2beta1/pipelines/" + pid, 400},
		{alice, "GET", "/apis/v2beta1/pipelines/missing", 404},
	} {
		if a := call(t, h, tc.method, tc.path, "", as(tc.user)...); a.status != tc.status {
			t.Errorf("%s %s %s: got %d %s, want %d", tc.user, tc.method, tc.path, a.status, a.body, tc.status)
		}
	}
	list := call(t, h, "GET", "/apis/v2beta1/pipelines?namespace="+nsA, "", as(alice)...)
	if !strings.Contains(list.body, pid) {
		t.Fatalf("alice's list lacks her pipeline: %s", list.body)
	}
	if own := call(t, h, "GET", "/apis/v2beta1/pipelines?namespace="+nsB, "", as(bob)...); own.status != 200 || strings.Contains(own.body, pid) {
		t.Fatalf("bob's own list: %d %s", own.status, own.body)
	}
	versions := call(t, h, "GET", "/apis/v2beta1/pipelines/"+pid+"/versions", "", as(alice)...)
	vid, _ := versions.json(t)["pipeline_versions"].([]any)[0].(map[string]any)["pipeline_version_id"].(string)
	if a := call(t, h, "DELETE", "/apis/v2beta1/pipelines/"+pid+"/versions/"+vid, "", as(alice)...); a.status != 200 {
		t.Fatalf("delete version: %d %s", a.status, a.body)
	}
	if a := call(t, h, "DELETE", "/apis/v2beta1/pipelines/"+pid, "", as(alice)...); a.status != 200 {
		t.Fatalf("delete pipeline: %d %s", a.status, a.body)
	}
}

func TestRunFromAnotherNamespacesPipeline(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fixed  bool
		status int
	}{{"before the fix the run is created", false, 200}, {"with the fix it is refused", true, 403}} {
		t.Run(tc.name, func(t *testing.T) {
			_, h := twoTenants(t, tc.fixed)
			pid := idOf(t, upload(t, h, alice, nsA, noopSpec), "pipeline_id")
			eid := idOf(t, call(t, h, "POST", "/apis/v2beta1/experiments", `{"display_name":"e","namespace":"`+nsB+`"}`, as(bob)...), "experiment_id")
			body := fmt.Sprintf(`{"display_name":"r","experiment_id":%q,"pipeline_version_reference":{"pipeline_id":%q}}`, eid, pid)
			if a := call(t, h, "POST", "/apis/v2beta1/runs", body, as(bob)...); a.status != tc.status {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tc.status)
			}
		})
	}
}

func TestForeignRunActions(t *testing.T) {
	_, h := twoTenants(t, false)
	eid := idOf(t, call(t, h, "POST", "/apis/v2beta1/experiments", `{"display_name":"e","namespace":"`+nsA+`"}`, as(alice)...), "experiment_id")
	if a := call(t, h, "POST", "/apis/v2beta1/runs", `{"display_name":"r","experiment_id":"`+eid+`","pipeline_spec":{"pipelineInfo":{"name":"x"},"root":{}}}`, as(bob)...); a.status != 403 {
		t.Fatalf("bob creating a run in alice's experiment: %d %s", a.status, a.body)
	}
	if a := call(t, h, "POST", "/apis/v2beta1/runs", `{"display_name":"r","experiment_id":"`+eid+`"}`, as(alice)...); a.status != 400 {
		t.Fatalf("a run with no pipeline: %d %s", a.status, a.body)
	}
	rid := idOf(t, call(t, h, "POST", "/apis/v2beta1/runs", `{"display_name":"r","experiment_id":"`+eid+`","pipeline_spec":{"pipelineInfo":{"name":"x"},"root":{}}}`, as(alice)...), "run_id")
	for _, action := range []string{":terminate", ":retry", ":archive", ":unarchive"} {
		a := call(t, h, "POST", "/apis/v2beta1/runs/"+rid+action, "", as(bob)...)
		verb := strings.TrimPrefix(action, ":")
		if a.status != 403 || !strings.Contains(a.body, "Verb:"+verb+",") || !strings.Contains(a.body, "Resource:runs,") {
			t.Errorf("bob %s: %d %s", action, a.status, a.body)
		}
	}
	if a := call(t, h, "GET", "/apis/v2beta1/runs/"+rid, "", as(bob)...); a.status != 403 {
		t.Errorf("bob get: %d", a.status)
	}
	if a := call(t, h, "POST", "/apis/v2beta1/runs/"+rid+":retry", "", as(alice)...); a.status != 409 {
		t.Errorf("retry of a run that has not failed: %d %s", a.status, a.body)
	}
	if a := call(t, h, "POST", "/apis/v2beta1/runs/"+rid+":archive", "", as(alice)...); a.status != 200 {
		t.Fatalf("alice archive: %d %s", a.status, a.body)
	}
	if got := call(t, h, "GET", "/apis/v2beta1/runs/"+rid, "", as(alice)...).json(t)["storage_state"]; got != "ARCHIVED" {
		t.Fatalf("storage_state %v", got)
	}
	if a := call(t, h, "POST", "/apis/v2beta1/runs/"+rid, "", as(alice)...); a.status != http.StatusMethodNotAllowed {
		t.Errorf("POST without a verb: %d", a.status)
	}
	if a := call(t, h, "DELETE", "/apis/v2beta1/runs/"+rid, "", as(alice)...); a.status != 200 {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	if a := call(t, h, "GET", "/apis/v2beta1/runs/"+rid, "", as(alice)...); a.status != 404 {
		t.Fatalf("deleted run: %d %s", a.status, a.body)
	}
}
