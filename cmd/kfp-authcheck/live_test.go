package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// startStack starts an embedded stack of one profile and returns its `serve` description: the target file a
// person would point run at.
func startStack(t *testing.T, name string) (*embedded.Stack, *target.File) {
	t.Helper()
	p, err := profile.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	stack, err := embedded.Start(context.Background(), p, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stack.Close() })
	return stack, stack.Description()
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tokenKubeconfig writes a kubeconfig for server (https, not verified) with a bearer token, context c.
func tokenKubeconfig(t *testing.T, dir, name, server string) string {
	t.Helper()
	return writeFile(t, dir, name, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://`+server+`", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`))
}

// deadAddr is a loopback address nothing listens on (a port taken and let go).
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func writeTarget(t *testing.T, dir string, f *target.File) string {
	t.Helper()
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "target.json", b)
}

func decodeRun(t *testing.T, stdout string) *result.Run {
	t.Helper()
	var run result.Run
	if err := json.Unmarshal([]byte(stdout), &run); err != nil {
		t.Fatalf("stdout is not one run JSON: %v\n%s", err, stdout)
	}
	return &run
}

func resultOf(t *testing.T, run *result.Run, id string) result.Result {
	t.Helper()
	for _, r := range run.Results {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no result for %s", id)
	return result.Result{}
}

// TestDryRunPrintsConfigAndPlanAndSendsNothing points --dry-run at a listener that would see any connection:
// none arrives, the inline password is redacted, the file's checks are overridden by --only, profile auto and the
// fields not used yet are said to be so.
func TestDryRunPrintsConfigAndPlanAndSendsNothing(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	const canary = "Inline-Canary-3b9d0e"
	dir := t.TempDir()
	file := writeFile(t, dir, "target.yaml", []byte(`
gateway_url: http://`+lis.Addr().String()+`
profile: auto
checks: [SETUP]
in_cluster_api: {namespace: kubeflow, name: ml-pipeline, port: 8888}
kubeconfig: ./kubeconfig
users:
  - {email: user@example.com, password: `+canary+`, namespace: kubeflow-user-example-com}
  - {email: jane@example.com, password_env: KFP_AUTHCHECK_TEST_PW, connector: local}
`))
	t.Setenv("KFP_AUTHCHECK_TEST_PW", "env-canary-77f1")
	// The kubeconfig must exist (an absent one is a configuration error); the dry run never reads it.
	writeFile(t, dir, "kubeconfig", []byte("apiVersion: v1\nkind: Config\n"))

	code, stdout, stderr := runCLI(t, "run", "--target", file, "--dry-run")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{`"password": "[REDACTED]"`, `"password_env": "KFP_AUTHCHECK_TEST_PW"`,
		`"only": "target file"`, "profile auto", "SETUP-001", "SETUP-002", "in_cluster_api kubeflow/ml-pipeline:8888: a port-forward through the Kubernetes API",
		"kubeconfig/context: given: the SA, RBAC and ISO checks create", "labelled kfp-authcheck.io/run=", "no request sent"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "DEX-LOCAL") {
		t.Errorf("the file's checks: [SETUP] was not applied:\n%s", stdout)
	}
	for _, secret := range []string{canary, "env-canary-77f1"} {
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("a password reached the output")
		}
	}

	code, stdout, _ = runCLI(t, "run", "--target", file, "--dry-run", "--only", "DEX-LOCAL-004", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var pl plan
	if err := json.Unmarshal([]byte(stdout), &pl); err != nil {
		t.Fatalf("--dry-run --format json: %v\n%s", err, stdout)
	}
	if pl.Config.Sources["only"] != "flag" || len(pl.Targets) != 1 || len(pl.Targets[0].Checks) != 1 ||
		pl.Targets[0].Checks[0].ID != "DEX-LOCAL-004" || !pl.Targets[0].Checks[0].Runs {
		t.Errorf("--only must override the file's checks: %+v", pl)
	}

	// Nothing connected: a bounded accept finds no pending connection.
	lis.(*net.TCPListener).SetDeadline(time.Now().Add(200 * time.Millisecond))
	if c, err := lis.Accept(); err == nil {
		c.Close()
		t.Fatal("--dry-run connected to the gateway")
	} else if ne := (net.Error)(nil); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("accept: %v", err)
	}

	t.Setenv("KFP_AUTHCHECK_TEST_PW", "")
	os.Unsetenv("KFP_AUTHCHECK_TEST_PW")
	if code, _, stderr := runCLI(t, "run", "--target", file, "--dry-run"); code != exitUsage || !strings.Contains(stderr, "KFP_AUTHCHECK_TEST_PW is not set") {
		t.Errorf("a missing password must be a configuration error in the dry run too: exit %d, %s", code, stderr)
	}
}

// TestKubeflow18LogsInWithoutApprovalThroughATargetFile: the Kubeflow 1.8 gateway (oidc-authservice; Dex with
// skipApprovalScreen: true as 1.8.1 ships it), described by `serve` and run with profile auto: auto picks
// kubeflow-1.8 and DEX-LOCAL-004 passes, no approval screen, as on a real 1.8.1, so a client that cannot answer
// the screen (the older KFPClientManager) logs in.
func TestKubeflow18LogsInWithoutApprovalThroughATargetFile(t *testing.T) {
	_, desc := startStack(t, "kubeflow-1.8")
	desc.Profile = target.ProfileAuto
	desc.Checks = []string{"SETUP-001", "DEX-LOCAL-004"}
	file := writeTarget(t, t.TempDir(), desc)
	code, stdout, stderr := runCLI(t, "run", "--target", file, "--format", "json", "--progress", "always")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "profile auto chose kubeflow-1.8") {
		t.Errorf("the chosen profile is not said: %s", stderr)
	}
	run := decodeRun(t, stdout)
	if run.Profile != "kubeflow-1.8" || len(run.Results) != 2 {
		t.Fatalf("run profile %q with %d results", run.Profile, len(run.Results))
	}
	r := resultOf(t, run, "DEX-LOCAL-004")
	if r.Status != result.Pass {
		t.Errorf("DEX-LOCAL-004: %s %s (%s), want pass: 1.8.1's Dex skips the approval screen", r.Status, r.Reason, r.Message)
	}
	if s := resultOf(t, run, "SETUP-001"); s.Status != result.Pass {
		t.Errorf("SETUP-001: %s %s", s.Status, s.Message)
	}
	for _, want := range []string{"summary:", "kubeflow-1.8/embedded: verdict pass", "2 pass, 0 warn, 0 fail", "0 unexpected", "wall time"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the summary lacks %q:\n%s", want, stderr)
		}
	}
}

// TestExpectedDeviationsDecideTheExitCode runs the CLI against a Kubeflow stack with a wrong password: the login
// checks fail. An expected-deviation file named in the target file turns those failures into expected ones
// (exit 0); an entry for a check that passes is an unexpected pass (exit 1); --expected overrides the file's.
func TestExpectedDeviationsDecideTheExitCode(t *testing.T) {
	_, desc := startStack(t, "kubeflow")
	dir := t.TempDir()
	desc.Users[0].Password, desc.Users[0].PasswordEnv = "", "KFP_AUTHCHECK_WRONG_PW"
	t.Setenv("KFP_AUTHCHECK_WRONG_PW", "not-the-password-123")
	desc.Checks = []string{"SETUP-001", "DEX-LOCAL-004", "DEX-LOCAL-005"}
	desc.Expected = writeFile(t, dir, "known.yaml", []byte(`
deviations:
  - checks: DEX-LOCAL-00[45]
    profiles: [kubeflow]
    reason: the lab's password rotates; tracked in OPS-12
`))
	file := writeTarget(t, dir, desc)

	code, stdout, stderr := runCLI(t, "run", "--target", file)
	if code != exitOK {
		t.Fatalf("expected failures must not fail the run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"xfail INVALID_CREDENTIALS", "expected deviation: the lab's password rotates", "0 unexpected; 2 expected"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("matrix lacks %q:\n%s", want, stdout)
		}
	}

	stale := writeFile(t, dir, "stale.yaml", []byte(`
deviations:
  - checks: DEX-LOCAL-00[45]
    reason: the lab's password rotates
  - checks: SETUP-001
    reason: the gateway used to answer 200
`))
	code, stdout, stderr = runCLI(t, "run", "--target", file, "--expected", stale, "--format", "json")
	if code != exitUnexpected {
		t.Fatalf("an expected failure that passes must fail the exit code: exit %d\n%s", code, stderr)
	}
	run := decodeRun(t, stdout)
	if r := resultOf(t, run, "SETUP-001"); r.Status != result.Pass || r.Reason != result.UnexpectedPass || !r.Unexpected() {
		t.Errorf("SETUP-001: %s %s deviation %q, want pass UNEXPECTED_PASS", r.Status, r.Reason, r.Deviation)
	}
	if r := resultOf(t, run, "DEX-LOCAL-004"); r.Status != result.Fail || r.Unexpected() {
		t.Errorf("DEX-LOCAL-004: %s unexpected=%v, want an expected failure", r.Status, r.Unexpected())
	}
	if run.Unexpected() != 1 {
		t.Errorf("%d unexpected, want 1 (the stale entry)", run.Unexpected())
	}

	if code, _, stderr := runCLI(t, "run", "--target", file, "--expected", writeFile(t, dir, "noreason.yaml",
		[]byte("deviations:\n  - checks: SETUP-001\n"))); code != exitUsage || !strings.Contains(stderr, "reason is mandatory") {
		t.Errorf("an entry without a reason: exit %d, %s", code, stderr)
	}
}

// TestHTMLAndArchiveFromARun: --format html writes one page with the run's checks; --archive holds the
// redacted configuration, the versions seen (Dex through gRPC, KFP through healthz), the run and the reports.
func TestHTMLAndArchiveFromARun(t *testing.T) {
	p, _ := profile.Get("deploykf")
	_, desc := startStack(t, "deploykf")
	dir := t.TempDir()
	desc.Checks = []string{"SETUP"}
	file := writeTarget(t, dir, desc)
	out, archive := filepath.Join(dir, "out"), filepath.Join(dir, "results.tar.gz")
	code, stdout, stderr := runCLI(t, "run", "--target", file, "--format", "html,json", "--out", out, "--archive", archive)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	page, err := os.ReadFile(filepath.Join(out, "kfp-authcheck.html"))
	if err != nil || !strings.Contains(string(page), "SETUP-002") || !strings.Contains(string(page), "deploykf/embedded") {
		t.Fatalf("html report: %v", err)
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	members := map[string]string{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(io.LimitReader(tr, 4<<20))
		members[strings.TrimPrefix(h.Name, "kfp-authcheck-results/")] = string(b)
	}
	for _, name := range []string{"config.json", "versions.json", "runs/run.json", "reports/kfp-authcheck.html", "reports/kfp-authcheck.txt"} {
		if _, ok := members[name]; !ok {
			t.Errorf("archive lacks %s", name)
		}
	}
	for name, text := range members {
		for _, u := range p.Users {
			if strings.Contains(text, `"`+u.Password+`"`) {
				t.Errorf("%s holds a user's password", name)
			}
		}
	}
	var seen []struct {
		Dex, KFP struct{ Version, Source string }
	}
	if err := json.Unmarshal([]byte(members["versions.json"]), &seen); err != nil || len(seen) != 1 {
		t.Fatalf("versions.json: %v\n%s", err, members["versions.json"])
	}
	if seen[0].Dex.Version != p.Dex.Version || seen[0].KFP.Version != p.KFP.Version {
		t.Errorf("versions seen %+v, want Dex %s and KFP %s", seen[0], p.Dex.Version, p.KFP.Version)
	}
	var cfg runConfig
	if err := json.Unmarshal([]byte(members["config.json"]), &cfg); err != nil || cfg.Target == nil || cfg.Target.Users[0].Password != "[REDACTED]" {
		t.Errorf("config.json is not the redacted effective configuration: %v", err)
	}
}

func TestFormatsWithoutOutAreRefused(t *testing.T) {
	for _, args := range [][]string{{"run", "--format", "html"}, {"run", "--format", "junit"}, {"run", "--format", "text,json"}} {
		if code, _, stderr := runCLI(t, args...); code != exitUsage || !strings.Contains(stderr, "--out") {
			t.Errorf("%v: exit %d, %s", args, code, stderr)
		}
	}
}

// TestReportMergeHTML merges two run files into one page with a column each.
func TestReportMergeHTML(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for _, name := range []string{"kubeflow", "standalone"} {
		code, stdout, stderr := runCLI(t, "run", "--profile", name, "--only", "SETUP-001", "--format", "json")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		files = append(files, writeFile(t, dir, name+".json", []byte(stdout)))
	}
	code, page, stderr := runCLI(t, append([]string{"report", "merge", "--format", "html"}, files...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"<!DOCTYPE html>", "<th>kubeflow/embedded</th>", "<th>standalone/embedded</th>", "warn UNSECURED"} {
		if !strings.Contains(page, want) {
			t.Errorf("merged page lacks %q", want)
		}
	}
}
