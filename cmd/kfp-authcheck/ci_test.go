package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/report"
	"github.com/kfp-authcheck/kfp-authcheck/report/schema"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// junitView is what a CI test reporter reads from a JUnit file: the totals and, per case, whether it failed.
type junitView struct {
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Suites   []struct {
		Failures   int `xml:"failures,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
			Error   *struct{} `xml:"error"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func readJUnit(t *testing.T, path string) junitView {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v junitView
	if err := xml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s is not JUnit XML: %v", path, err)
	}
	return v
}

// TestJUnitAgreesWithTheExitCodeOnAnXPASS: a deviation listed for a check that passes makes the run exit 1; a
// JUnit consumer reading the file must see a red build too (it used to see failures="0").
func TestJUnitAgreesWithTheExitCodeOnAnXPASS(t *testing.T) {
	dir := t.TempDir()
	stale := writeFile(t, dir, "stale.yaml", []byte("deviations:\n  - checks: SETUP-002\n    reason: used to fail\n"))
	out := filepath.Join(dir, "out")
	code, _, stderr := runCLI(t, "run", "--profile", "kubeflow", "--only", "SETUP", "--expected", stale,
		"--format", "junit,json", "--out", out, "--label", "Kubeflow 1.10")
	if code != exitUnexpected {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	v := readJUnit(t, filepath.Join(out, "kfp-authcheck.junit.xml"))
	if v.Failures+v.Errors == 0 {
		t.Fatalf("exit 1 but the JUnit file reports failures=%d errors=%d", v.Failures, v.Errors)
	}
	failed := ""
	for _, c := range v.Suites[0].Cases {
		if c.Failure != nil {
			failed += c.Name + ";"
		}
	}
	if !strings.HasPrefix(failed, "SETUP-002") {
		t.Errorf("failed cases %q, want SETUP-002 alone", failed)
	}
	props := map[string]string{}
	for _, p := range v.Suites[0].Properties {
		props[p.Name] = p.Value
	}
	for _, k := range []string{"profile_description", "date", "version.dex", "version.kfp", "tool_version"} {
		if props[k] == "" {
			t.Errorf("JUnit property %s missing: %v", k, props)
		}
	}
	run, err := report.ReadRunFile(filepath.Join(out, "kfp-authcheck.json"))
	if err != nil {
		t.Fatal(err)
	}
	if run.Label != "Kubeflow 1.10" || run.SchemaVersion != result.SchemaVersion || len(run.Versions) == 0 || run.ProfileDescription == "" {
		t.Errorf("run JSON: label %q schema %d versions %v description %q", run.Label, run.SchemaVersion, run.Versions, run.ProfileDescription)
	}
}

// TestFailOnWarn: the deployKF approval screen... any warning; with --fail-on warn the same run exits 1 and its
// JUnit file has the warnings as failures.
func TestFailOnWarn(t *testing.T) {
	dir := t.TempDir()
	args := []string{"run", "--profile", "kubeflow-1.8", "--format", "junit", "--out", dir}
	code, _, stderr := runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	v := readJUnit(t, filepath.Join(dir, "kfp-authcheck.junit.xml"))
	data, _ := os.ReadFile(filepath.Join(dir, "kfp-authcheck.junit.xml"))
	if !strings.Contains(string(data), "warn") {
		t.Skip("kubeflow-1.8 has no warning on the embedded tier any more; nothing to prove here")
	}
	if v.Failures != 0 {
		t.Fatalf("without --fail-on warn: %d failures", v.Failures)
	}
	code, _, stderr = runCLI(t, append(args, "--fail-on", "warn")...)
	if code != exitUnexpected {
		t.Fatalf("--fail-on warn with warnings: exit %d\n%s", code, stderr)
	}
	if v := readJUnit(t, filepath.Join(dir, "kfp-authcheck.junit.xml")); v.Failures == 0 {
		t.Error("--fail-on warn: exit 1 but no JUnit failure")
	}
	if code, _, _ := runCLI(t, "run", "--fail-on", "everything"); code != exitUsage {
		t.Errorf("--fail-on everything: exit %d, want 2", code)
	}
}

// TestUnreachableTargetStillWritesEveryReport: exit 3, and each --format file names the SETUP error.
func TestUnreachableTargetStillWritesEveryReport(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	dir := t.TempDir()
	file := writeFile(t, dir, "t.yaml", []byte("gateway_url: http://"+addr+"\n"))
	out := filepath.Join(dir, "out")
	code, _, stderr := runCLI(t, "run", "--target", file, "--format", "text,md,json,junit,html", "--out", out)
	if code != exitUnreachable {
		t.Fatalf("exit %d, want 3\n%s", code, stderr)
	}
	for _, name := range []string{"kfp-authcheck.txt", "kfp-authcheck.md", "kfp-authcheck.json", "kfp-authcheck.junit.xml", "kfp-authcheck.html"} {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Errorf("no %s on exit 3: %v", name, err)
			continue
		}
		if !strings.Contains(string(data), "UNREACHABLE") {
			t.Errorf("%s does not name the SETUP error", name)
		}
	}
	if v := readJUnit(t, filepath.Join(out, "kfp-authcheck.junit.xml")); v.Errors == 0 {
		t.Error("the JUnit file of an unreachable target has no error")
	}
}

// TestReportMergeRefusesWhatIsNotARun, names columns by --label, writes snake_case, merges a merged matrix again,
// and fails on unexpected results and on regressions against a baseline.
func TestReportMergeValidatesAndFails(t *testing.T) {
	dir := t.TempDir()
	empty := writeFile(t, dir, "empty.json", []byte("{}"))
	if code, _, stderr := runCLI(t, "report", "merge", empty); code != exitUsage || !strings.Contains(stderr, "not a kfp-authcheck run") {
		t.Errorf("{}: exit %d, %s", code, stderr)
	}
	good := filepath.Join(dir, "good")
	if code, _, stderr := runCLI(t, "run", "--profile", "kubeflow", "--only", "SETUP", "--format", "json", "--out", good, "--label", "Kubeflow 1.10"); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	bad := filepath.Join(dir, "bad")
	stale := writeFile(t, dir, "stale.yaml", []byte("deviations:\n  - checks: SETUP-002\n    reason: used to fail\n"))
	runCLI(t, "run", "--profile", "kubeflow", "--only", "SETUP", "--format", "json", "--out", bad, "--label", "Kubeflow 1.10", "--expected", stale)
	goodRun, badRun := filepath.Join(good, "kfp-authcheck.json"), filepath.Join(bad, "kfp-authcheck.json")

	code, stdout, stderr := runCLI(t, "report", "merge", goodRun, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["columns"]; !ok || m["schema_version"] == nil {
		t.Errorf("merged JSON keys: %v", keysOf(m))
	}
	if !strings.Contains(stdout, `"label": "Kubeflow 1.10"`) {
		t.Errorf("the column is not named by --label")
	}
	merged := writeFile(t, dir, "merged.json", []byte(stdout))
	if code, out, stderr := runCLI(t, "report", "merge", merged, badRun, "--format", "text"); code != exitOK || !strings.Contains(out, "Kubeflow 1.10#2") {
		t.Errorf("merging a merged matrix again: exit %d\n%s\n%s", code, out, stderr)
	}
	if code, _, _ := runCLI(t, "report", "merge", goodRun, "--fail-on-unexpected"); code != exitOK {
		t.Errorf("--fail-on-unexpected on a clean run: exit %d", code)
	}
	if code, _, _ := runCLI(t, "report", "merge", badRun, "--fail-on-unexpected"); code != exitUnexpected {
		t.Errorf("--fail-on-unexpected on an XPASS run: exit %d, want 1", code)
	}
	code, _, stderr = runCLI(t, "report", "merge", badRun, "--baseline", goodRun)
	if code != exitUnexpected || !strings.Contains(stderr, "newly failing: SETUP-002") {
		t.Errorf("--baseline: exit %d\n%s", code, stderr)
	}
	if code, out, _ := runCLI(t, "report", "diff", goodRun, goodRun); code != exitOK || !strings.Contains(out, "no check newly fails") {
		t.Errorf("diff of a run with itself: exit %d %s", code, out)
	}

	// Mixed tool versions merge with a warning.
	var raw map[string]any
	data, _ := os.ReadFile(goodRun)
	json.Unmarshal(data, &raw)
	raw["tool_version"] = "v0.0.1"
	other, _ := json.Marshal(raw)
	if code, _, stderr := runCLI(t, "report", "merge", goodRun, writeFile(t, dir, "old.json", other)); code != exitOK || !strings.Contains(stderr, "different kfp-authcheck versions") {
		t.Errorf("mixed versions: exit %d, %s", code, stderr)
	}
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestRealOutputsMatchTheSchema validates the JSON of real runs (every check, two profiles, one with a stale
// deviation and fail-on warn) and of their merge against the published schemas; no catalogue check uses a
// retired ID.
func TestRealOutputsMatchTheSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, n := range []string{"run.schema.json", "matrix.schema.json"} {
		data, _ := schema.FS.ReadFile(n)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(schema.Base+n, doc); err != nil {
			t.Fatal(err)
		}
	}
	runSchema, err := c.Compile(schema.Base + "run.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	matrixSchema, err := c.Compile(schema.Base + "matrix.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	check := func(s *jsonschema.Schema, path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(doc); err != nil {
			t.Errorf("%s does not validate: %v", filepath.Base(path), err)
		}
	}
	dir := t.TempDir()
	stale := writeFile(t, dir, "stale.yaml", []byte("deviations:\n  - checks: SETUP-002\n    reason: used to fail\n"))
	out := filepath.Join(dir, "out")
	runCLI(t, "run", "--profile", "kubeflow,standalone", "--format", "json", "--out", out, "--expected", stale, "--fail-on", "warn", "--label", "ci")
	files, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(files) != 2 {
		t.Fatalf("run JSON files: %v", files)
	}
	for _, f := range files {
		check(runSchema, f)
	}
	code, merged, stderr := runCLI(t, append([]string{"report", "merge", "--format", "json"}, files...)...)
	if code != exitOK {
		t.Fatalf("merge: exit %d %s", code, stderr)
	}
	check(matrixSchema, writeFile(t, dir, "merged.json", []byte(merged)))

	for _, id := range report.RetiredChecks {
		if _, err := checks.Select([]string{id}); err == nil {
			t.Errorf("retired check ID %s is in the catalogue again", id)
		}
	}
}

// TestReasonsListedAndInTheREADME: list --reasons prints every code with its fix; the README table has each row.
func TestReasonsListedAndInTheREADME(t *testing.T) {
	code, out, _ := runCLI(t, "list", "--reasons")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range report.Reasons {
		if !strings.Contains(out, string(r.Code)) || !strings.Contains(out, r.Fix) {
			t.Errorf("list --reasons lacks %s or its fix", r.Code)
		}
		row := "| `" + string(r.Code) + "` | " + strings.ReplaceAll(r.Meaning, "|", `\|`) + " | " + strings.ReplaceAll(r.Fix, "|", `\|`) + " |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README lacks the row %s", row)
		}
	}
}

// TestVersionFromBuildInfo: go install records the module version; a checkout build its commit.
func TestVersionFromBuildInfo(t *testing.T) {
	for _, c := range []struct {
		info *debug.BuildInfo
		want string
	}{
		{nil, "dev"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}, "dev+0123456789ab-dirty"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
	} {
		got := buildVersion(func() (*debug.BuildInfo, bool) { return c.info, c.info != nil })
		if got != c.want {
			t.Errorf("%+v: %q, want %q", c.info, got, c.want)
		}
	}
}

// signalWriter closes found when a write contains want.
type signalWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	want  string
	found chan struct{}
	once  sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.found) })
	}
	return len(p), nil
}

// TestProgressCountsAndBeats: [n/N] per result; while nothing finishes, a heartbeat line says so.
func TestProgressCountsAndBeats(t *testing.T) {
	w := &signalWriter{want: "still running: 1 check(s) left", found: make(chan struct{})}
	var mu sync.Mutex
	p := newProgressPrinter(w, &mu, 2, []string{"kubeflow/embedded"}, 20*time.Millisecond)
	p.result(0, result.Result{ID: "SETUP-001", Status: result.Pass})
	select {
	case <-w.found:
	case <-time.After(10 * time.Second):
		t.Fatalf("no heartbeat:\n%s", w.buf.String())
	}
	p.result(0, result.Result{ID: "RBAC-003", Status: result.Pass, DurationMS: 5600})
	p.close()
	out := w.buf.String()
	for _, want := range []string{"[1/2] kubeflow/embedded SETUP-001", "[2/2] kubeflow/embedded RBAC-003"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress lacks %q:\n%s", want, out)
		}
	}
}

// TestProgressUnderCIAndCompletion: progress is on by default under CI; flag values complete.
func TestProgressUnderCIAndCompletion(t *testing.T) {
	t.Setenv("GITHUB_ACTIONS", "")
	t.Setenv("CI", "")
	var buf bytes.Buffer
	if progressOn("auto", &buf) {
		t.Error("progress on for a buffer outside CI")
	}
	t.Setenv("GITHUB_ACTIONS", "true")
	if !progressOn("auto", &buf) || progressOn("never", &buf) {
		t.Error("GITHUB_ACTIONS=true: progress should be on for auto, off for never")
	}
	code, _, stderr := runCLI(t, "run", "--profile", "kubeflow", "--only", "SETUP-001")
	if code != exitOK || !strings.Contains(stderr, "[1/1] kubeflow") || strings.Count(stderr, "summary:") != 1 {
		t.Fatalf("under CI: exit %d, want [1/1] progress and one summary on stderr:\n%s", code, stderr)
	}
	for args, want := range map[string]string{
		"run --profile kubeflow,deplo": "kubeflow,deploykf",
		"run --only DEX-LOCAL-00":      "DEX-LOCAL-001",
		"run --format text,ju":         "text,junit",
		"run --fail-on w":              "warn",
	} {
		a := strings.Fields(args)
		code, out, stderr := runCLI(t, append([]string{"__complete"}, a...)...)
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("completion of %q: exit %d, %q %s", args, code, out, stderr)
		}
	}
}
