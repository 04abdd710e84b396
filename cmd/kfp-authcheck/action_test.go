package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// asCLI makes the test binary act as kfp-authcheck when it runs with this variable set, so that the action's
// scripts can be run against the code under test without building it again.
const asCLI = "KFP_AUTHCHECK_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		os.Exit(execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestActionStepsRunLocally runs the composite action's run and summary steps (.github/action/*.sh) as the
// runner would, with the step's environment: the run's exit code lands in GITHUB_OUTPUT (1 for a run with an
// XPASS, and the step itself succeeds so the summary and the upload still run), every report is in the out
// directory, and the Markdown matrix is appended to the job summary.
func TestActionStepsRunLocally(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wrapper := writeFile(t, t.TempDir(), "kfp-authcheck", []byte("#!/bin/sh\n"+asCLI+"=1 exec '"+self+"' \"$@\"\n"))
	if err := os.Chmod(wrapper, 0o755); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	stale := writeFile(t, work, "stale.yaml", []byte("deviations:\n  - checks: SETUP-002\n    reason: used to fail\n"))
	ghOutput, summary := filepath.Join(work, "output"), filepath.Join(work, "summary.md")
	repo, _ := filepath.Abs("../..")
	step := func(script string, env ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(repo, ".github/action", script))
		cmd.Dir = work
		cmd.Env = append(os.Environ(), append([]string{"GITHUB_ACTION_PATH=" + repo, "GITHUB_OUTPUT=" + ghOutput,
			"GITHUB_STEP_SUMMARY=" + summary, "RUNNER_TEMP=" + work}, env...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out.String())
		}
		return out.String()
	}
	step("run.sh", "KFA_BIN="+wrapper, "KFA_PROFILE=kubeflow", "KFA_TIER=embedded", "KFA_ONLY=SETUP",
		"KFA_EXPECTED="+stale, "KFA_LABEL=ci run", "KFA_FAIL_ON=fail", "KFA_FORMATS=text,md,json,junit,html", "KFA_OUT=reports")
	out, _ := os.ReadFile(ghOutput)
	if !strings.Contains(string(out), "exit-code=1") {
		t.Errorf("GITHUB_OUTPUT %q, want exit-code=1 (an XPASS)", out)
	}
	for _, f := range []string{"kfp-authcheck.txt", "kfp-authcheck.md", "kfp-authcheck.json", "kfp-authcheck.junit.xml", "kfp-authcheck.html"} {
		if _, err := os.Stat(filepath.Join(work, "reports", f)); err != nil {
			t.Errorf("report %s: %v", f, err)
		}
	}
	step("summary.sh", "KFA_OUT=reports")
	sum, _ := os.ReadFile(summary)
	if !strings.Contains(string(sum), "## kfp-authcheck matrix") || !strings.Contains(string(sum), "| ci run |") {
		t.Errorf("job summary:\n%s", sum)
	}
}
