package report

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

func TestWriteJSONRoundTripsAndKeepsFieldOrder(t *testing.T) {
	dex, _ := twoRuns()
	dex.Results[1].Evidence = []result.Exchange{{Method: "GET", URL: "http://127.0.0.1:4180/pipeline/", Status: 200}}
	var b strings.Builder
	if err := WriteJSON(&b, dex); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "{\n  \"schema_version\": 1,\n  \"tool_version\": \"v0.1.0\",\n  \"target\": ") || !strings.HasSuffix(out, "}\n") {
		t.Fatalf("not indented in struct order:\n%s", out)
	}
	order := []string{`"schema_version"`, `"tool_version"`, `"target"`, `"profile"`, `"tier"`, `"started"`, `"finished"`, `"results"`}
	last := -1
	for _, key := range order {
		i := strings.Index(out, key)
		if i <= last {
			t.Fatalf("key %s out of order in:\n%s", key, out)
		}
		last = i
	}
	back, err := ReadRun(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, dex) {
		t.Fatalf("round trip changed the run:\n got %+v\nwant %+v", back, dex)
	}
}

func TestWriteJSONWritesEmptyResultsAsList(t *testing.T) {
	run := &result.Run{Profile: "dex", Tier: "embedded"}
	var b strings.Builder
	if err := WriteJSON(&b, run); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"results": []`) {
		t.Fatalf("results not a list:\n%s", b.String())
	}
	if run.Results != nil {
		t.Fatal("WriteJSON changed the caller's run")
	}
	if err := WriteJSON(&b, nil); err == nil {
		t.Fatal("nil run accepted")
	}
}

func TestReadRunAcceptsEveryContractStatus(t *testing.T) {
	for _, status := range []string{"pass", "fail", "warn", "skip", "n/a", "error"} {
		run, err := ReadRun(strings.NewReader(`{"profile":"dex","results":[{"id":"SETUP-001","status":"` + status + `"}]}`))
		if err != nil {
			t.Errorf("status %q refused: %v", status, err)
			continue
		}
		if got := run.Results[0].Status; string(got) != status {
			t.Errorf("status %q read as %q", status, got)
		}
	}
}

func TestReadRunRefusesWhatTheContractDoesNotAllow(t *testing.T) {
	tests := []struct {
		name, json, wantErr string
	}{
		{"passed", `{"results":[{"id":"SETUP-001","status":"passed"}]}`, `unknown status "passed"`},
		{"upper case", `{"results":[{"id":"SETUP-001","status":"PASS"}]}`, `unknown status "PASS"`},
		{"missing id", `{"results":[{"status":"pass"}]}`, "result 0: missing id"},
		{"blank id", `{"results":[{"id":"  ","status":"pass"}]}`, "result 0: missing id"},
		{"missing status", `{"results":[{"id":"SETUP-001"}]}`, "result 0 (SETUP-001): missing status"},
		{"duplicate id", `{"results":[{"id":"A-1","status":"pass"},{"id":"A-1","status":"fail"}]}`, "result 1 (A-1): duplicate id"},
		{"trailing data", `{"results":[]} {"results":[]}`, "unexpected data after the run"},
		{"not json", `results: []`, "read run"},
		{"empty", ``, "read run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadRun(strings.NewReader(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestReadRunFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "run.json")
	if err := os.WriteFile(good, []byte(`{"profile":"dex","tier":"local","results":[{"id":"SA-001","status":"n/a"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	run, err := ReadRunFile(good)
	if err != nil || run.Profile != "dex" || run.Results[0].Status != result.NA {
		t.Fatalf("ReadRunFile = %+v, %v", run, err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"results":[{"id":"SA-001","status":"passed"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRunFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("error %v does not name the file", err)
	}
	if _, err := ReadRunFile(filepath.Join(dir, "absent.json")); err == nil {
		t.Fatal("absent file accepted")
	}
}
