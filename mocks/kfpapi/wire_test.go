package kfpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRoutingErrors(t *testing.T) {
	cases := []struct {
		format, method, path string
		wantStatus           int
		wantType, wantBody   string
	}{
		{ErrorFormatV1, "GET", "/apis/v2beta1/nothing", 404, "text/plain; charset=utf-8", "Not Found\n"},
		{ErrorFormatV1, "DELETE", "/apis/v2beta1/experiments", 405, "text/plain; charset=utf-8", "Method Not Allowed\n"},
		{ErrorFormatV1, "GET", "/apis/v2beta1/experiments/x:archive", 404, "text/plain; charset=utf-8", "Not Found\n"},
		{ErrorFormatV2, "GET", "/apis/v2beta1/nothing", 404, "application/json", `{"code":5,"message":"Not Found"}`},
		{ErrorFormatV2, "DELETE", "/apis/v2beta1/experiments", 501, "application/json", `{"code":12,"message":"Method Not Allowed"}`},
		{ErrorFormatV1, "GET", "/metricsz", 404, "text/plain; charset=utf-8", "404 page not found\n"},
	}
	for _, tc := range cases {
		t.Run(tc.format+" "+tc.method+" "+tc.path, func(t *testing.T) {
			s, _ := newTestServer(t, Config{MultiUser: true, ErrorFormat: tc.format})
			a := call(t, s.APIHandler(), tc.method, tc.path, "")
			if a.status != tc.wantStatus || a.header.Get("Content-Type") != tc.wantType || a.body != tc.wantBody {
				t.Errorf("got %d %q %q, want %d %q %q", a.status, a.header.Get("Content-Type"), a.body, tc.wantStatus, tc.wantType, tc.wantBody)
			}
		})
	}
}

func TestAPIHealthz(t *testing.T) {
	s, _ := newTestServer(t, Config{MultiUser: true, CommitSHA: "abc", TagName: "2.5.0", PipelineStore: "database"})
	cases := []struct{ method, path, want string }{
		{"GET", "/apis/v1beta1/healthz", `{"commit_sha":"abc", "tag_name":"2.5.0", "multi_user":true}`},
		{"GET", "/apis/v2beta1/healthz", `{"commit_sha":"abc", "tag_name":"2.5.0", "multi_user":true, "pipeline_store": "database"}`},
		{"POST", "/apis/v1beta1/healthz", `{"commit_sha":"abc", "tag_name":"2.5.0", "multi_user":true}`},
	}
	for _, tc := range cases {
		a := call(t, s.APIHandler(), tc.method, tc.path, "")
		if a.status != 200 || a.body != tc.want || a.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s = %d %q %q", tc.method, tc.path, a.status, a.header.Get("Content-Type"), a.body)
		}
	}
}

func TestUIHandler(t *testing.T) {
	s, _ := newTestServer(t, Config{MultiUser: true, CommitSHA: "abc", TagName: "2.0.5"})
	ui := s.UIHandler()

	a := call(t, ui, "GET", "/apis/v2beta1/healthz", "")
	if a.status != 200 || a.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("UI healthz: %d %q", a.status, a.header.Get("Content-Type"))
	}
	m := a.json(t)
	for k, want := range map[string]any{"apiServerCommitHash": "abc", "apiServerTagName": "2.0.5", "apiServerMultiUser": true,
		"multi_user": true, "apiServerReady": true, "frontendCommitHash": "abc", "frontendTagName": "2.0.5",
		"buildDate": "Mon May  6 07:08:09 UTC 2024"} {
		if m[k] != want {
			t.Errorf("UI healthz %s = %v, want %v", k, m[k], want)
		}
	}
	if _, has := m["commit_sha"]; has {
		t.Errorf("UI healthz has the API server's keys: %s", a.body)
	}

	// Proxied: the identity header reaches the API server.
	a = call(t, ui, "POST", "/apis/v2beta1/experiments", `{"display_name":"e","namespace":"`+nsA+`"}`, "kubeflow-userid", alice)
	if a.status != 200 {
		t.Fatalf("proxied create: %d %s", a.status, a.body)
	}
	a = call(t, ui, "GET", "/apis/v2beta1/experiments?namespace="+nsA, "")
	if a.status != 401 {
		t.Fatalf("proxied list without identity: %d", a.status)
	}

	a = call(t, ui, "GET", "/", "")
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
		t.Errorf("UI page: %d %q", a.status, a.header.Get("Content-Type"))
	}
	a = call(t, ui, "POST", "/", "")
	if a.status != 404 || !strings.Contains(a.body, "Cannot POST /") {
		t.Errorf("UI POST /: %d %q", a.status, a.body)
	}
}

func TestExperimentsLifecycle(t *testing.T) {
	s, rec := newTestServer(t, Config{MultiUser: true})
	h := s.APIHandler()
	id := []string{"kubeflow-userid", alice}

	a := call(t, h, "POST", "/apis/v2beta1/experiments", `{"display_name":"first","description":"d","namespace":"`+nsA+`"}`, id...)
	if a.status != 200 {
		t.Fatalf("create v2: %d %s", a.status, a.body)
	}
	var v2 experimentV2
	_ = json.Unmarshal([]byte(a.body), &v2)
	if len(v2.ExperimentID) != 36 || v2.DisplayName != "first" || v2.Namespace != nsA || v2.CreatedAt != "2024-05-06T07:08:09Z" || v2.StorageState != "AVAILABLE" {
		t.Errorf("created = %+v", v2)
	}
	if _, attrs := rec.last(); attrs.Verb != "create" || attrs.Name != "first" || attrs.Namespace != nsA {
		t.Errorf("create attrs = %+v", attrs)
	}

	a = call(t, h, "POST", "/apis/v2beta1/experiments", `{"display_name":"first","namespace":"`+nsA+`"}`, id...)
	if a.status != 409 || a.json(t)["code"] != float64(6) {
		t.Errorf("duplicate: %d %s", a.status, a.body)
	}

	a = call(t, h, "POST", "/apis/v1beta1/experiments",
		`{"name":"second","resource_references":[{"key":{"type":"NAMESPACE","id":"`+nsA+`"},"relationship":"OWNER"}]}`, id...)
	if a.status != 200 {
		t.Fatalf("create v1: %d %s", a.status, a.body)
	}
	var v1 experimentV1
	_ = json.Unmarshal([]byte(a.body), &v1)
	if v1.Name != "second" || len(v1.ResourceReferences) != 1 || v1.ResourceReferences[0].Key.ID != nsA || v1.StorageState != "STORAGESTATE_AVAILABLE" {
		t.Errorf("created v1 = %s", a.body)
	}

	a = call(t, h, "GET", "/apis/v1beta1/experiments?resource_reference_key.type=NAMESPACE&resource_reference_key.id="+nsA, "", id...)
	if a.status != 200 || a.json(t)["total_size"] != float64(2) {
		t.Errorf("list v1: %d %s", a.status, a.body)
	}

	a = call(t, h, "GET", "/apis/v2beta1/experiments/"+v2.ExperimentID, "", "kubeflow-userid", bob)
	if a.status != 403 {
		t.Errorf("get by bob: %d %s", a.status, a.body)
	}
	if _, attrs := rec.last(); attrs.Verb != "get" || attrs.Name != "first" || attrs.Namespace != nsA {
		t.Errorf("get attrs = %+v", attrs)
	}
	a = call(t, h, "GET", "/apis/v1beta1/experiments/"+v2.ExperimentID, "", id...)
	if a.status != 200 || a.json(t)["id"] != v2.ExperimentID {
		t.Errorf("get v1: %d %s", a.status, a.body)
	}

	a = call(t, h, "GET", "/apis/v1beta1/experiments?resource_reference_key.type=EXPERIMENT&resource_reference_key.id=x", "", id...)
	if a.status != 400 || !strings.Contains(a.body, "It must be of type 'Namespace'") || !strings.Contains(a.body, "of type Experiment") {
		t.Errorf("v1 list by experiment: %d %s", a.status, a.body)
	}
}

func TestPaging(t *testing.T) {
	s, _ := newTestServer(t, Config{MultiUser: true})
	h := s.APIHandler()
	id := []string{"kubeflow-userid", alice}
	for _, n := range []string{"a", "b", "c"} {
		if a := call(t, h, "POST", "/apis/v2beta1/experiments", `{"display_name":"`+n+`","namespace":"`+nsA+`"}`, id...); a.status != 200 {
			t.Fatalf("create: %d %s", a.status, a.body)
		}
	}
	seen := map[string]bool{}
	token := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		a := call(t, h, "GET", "/apis/v2beta1/experiments?page_size=2&namespace="+nsA+"&page_token="+url.QueryEscape(token), "", id...)
		var p listExperimentsV2
		if err := json.Unmarshal([]byte(a.body), &p); err != nil || a.status != 200 || p.TotalSize != 3 {
			t.Fatalf("page: %d %s", a.status, a.body)
		}
		for _, e := range p.Experiments {
			seen[e.DisplayName] = true
		}
		if token = p.NextPageToken; token == "" {
			break
		}
	}
	if len(seen) != 3 {
		t.Errorf("saw %v", seen)
	}
	cases := []struct{ query, want string }{
		{"page_size=-1", "The page size should be greater than 0. Got '\uFFFD'"},
		{"page_token=%25%25", "Failed to create list options: InvalidInputError: Invalid package token: illegal base64 data"},
		{"page_size=x", `strconv.ParseInt: parsing "x": invalid syntax`},
	}
	for _, tc := range cases {
		a := call(t, h, "GET", "/apis/v2beta1/experiments?namespace="+nsA+"&"+tc.query, "", id...)
		if a.status != 400 || !strings.Contains(a.json(t)["message"].(string), tc.want) {
			t.Errorf("%s: %d %s", tc.query, a.status, a.body)
		}
	}
}

func TestRuns(t *testing.T) {
	s, _ := newTestServer(t, Config{MultiUser: true})
	h := s.APIHandler()
	id := []string{"kubeflow-userid", alice}
	if a := call(t, h, "GET", "/apis/v2beta1/runs?namespace="+nsA, "", id...); a.status != 200 || a.body != "{}" {
		t.Fatalf("empty runs: %d %s", a.status, a.body)
	}
	if _, err := s.AddRun(nsA, "", "r1", "SUCCEEDED"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRun(nsA, "missing", "r2", "RUNNING"); err == nil {
		t.Error("AddRun accepted an unknown experiment")
	}
	a := call(t, h, "GET", "/apis/v2beta1/runs?namespace="+nsA, "", id...)
	if a.status != 200 || !strings.Contains(a.body, `"state":"SUCCEEDED"`) || !strings.Contains(a.body, `"total_size":1`) {
		t.Errorf("v2 runs: %d %s", a.status, a.body)
	}
	a = call(t, h, "GET", "/apis/v1beta1/runs?resource_reference_key.type=NAMESPACE&resource_reference_key.id="+nsA, "", id...)
	if a.status != 200 || !strings.Contains(a.body, `"status":"Succeeded"`) {
		t.Errorf("v1 runs: %d %s", a.status, a.body)
	}
	a = call(t, h, "GET", "/apis/v2beta1/runs?namespace=other", "", id...)
	if a.status != http.StatusForbidden {
		t.Errorf("runs in another namespace: %d %s", a.status, a.body)
	}
}
