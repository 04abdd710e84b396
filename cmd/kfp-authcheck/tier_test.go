package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/local"
	"github.com/kfp-authcheck/kfp-authcheck/internal/image"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// TestTierThatCannotStartIsAUsageError: a tier whose prerequisites are missing (the local tier's programs not
// built; no Docker engine for kind) ends the run with exit 2 and a sentence saying what to do, never a panic.
func TestTierThatCannotStartIsAUsageError(t *testing.T) {
	t.Setenv(local.ToolsEnv, t.TempDir())
	code, _, stderr := runCLI(t, "run", "--tier", "local", "--profile", "kubeflow")
	if code != exitUsage || !strings.Contains(stderr, "make tools") {
		t.Errorf("local tier without tools: exit %d, stderr:\n%s", code, stderr)
	}

	// A docker command that answers but has no engine behind it, as on this project's CI machines.
	dir := t.TempDir()
	fake := "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	code, _, stderr = runCLI(t, "run", "--tier", "kind", "--profile", "kubeflow")
	if code != exitUsage || !strings.Contains(stderr, "no Docker engine") || !strings.Contains(stderr, "Cannot connect to the Docker daemon") {
		t.Errorf("kind tier without Docker: exit %d, stderr:\n%s", code, stderr)
	}
	code, _, stderr = runCLI(t, "serve", "--tier", "kind", "--profile", "kubeflow")
	if code != exitUsage || !strings.Contains(stderr, "no Docker engine") {
		t.Errorf("serve on the kind tier without Docker: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestKindImageFlag: --kind-image is checked before any cluster is made: only with --tier kind, and it must be an
// image tarball (its tag is what the nodes will know the image as), with Dex's and oauth2-proxy's beside it.
func TestKindImageFlag(t *testing.T) {
	notImage := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(notImage, []byte("not a tarball"), 0o644); err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(t.TempDir(), "kfp-authcheck-image.tar")
	img, err := image.Build(notImage, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := image.WriteTarball(alone, image.Ref("kfp-authcheck", "test"), img); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--tier", "local", "--kind-image", notImage}, "--kind-image is a setting of --tier kind"},
		{[]string{"run", "--tier", "kind", "--kind-image", notImage}, "make image builds"},
		{[]string{"run", "--tier", "kind", "--kind-image", filepath.Join(t.TempDir(), "missing.tar")}, "no such file"},
		{[]string{"run", "--tier", "kind", "--kind-image", alone}, "the login images are read from beside it"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr:\n%s", c.args, code, stderr)
		}
	}
}

// TestServeKindFlags: serve checks --kind-image and --keep as run does, before any cluster is made.
func TestServeKindFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--tier", "local", "--kind-image", "x.tar"}, "--kind-image is a setting of --tier kind"},
		{[]string{"serve", "--tier", "kind", "--kind-image", filepath.Join(t.TempDir(), "missing.tar")}, "no such file"},
		{[]string{"serve", "--keep"}, "--keep is a setting of --tier kind"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr:\n%s", c.args, code, stderr)
		}
	}
}

// A server profile can be given as a file (profile.Load's caller): it runs like the built-in one it copies, and a
// capability it misspells is a usage error naming it, not a silent n/a.
func TestProfileFile(t *testing.T) {
	p, err := profile.Get("kubeflow-1.10-kind")
	if err != nil {
		t.Fatal(err)
	}
	p.Name = "my-kubeflow"
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "my-kubeflow.json")
	if err := os.WriteFile(good, b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "run", "--profile", good, "--only", "SETUP-001,DEX-LOCAL-001", "--format", "json")
	if code != 0 || !strings.Contains(stdout, `"profile": "my-kubeflow"`) || !strings.Contains(stdout, `"status": "pass"`) {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(b), `"m2m"`, `"m2n"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "run", "--profile", bad, "--dry-run")
	if code != exitUsage || !strings.Contains(stderr, `unknown capability "m2n"`) {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
}

// list --capabilities prints the vocabulary.
func TestListCapabilities(t *testing.T) {
	code, stdout, _ := runCLI(t, "list", "--capabilities")
	if code != 0 || !strings.Contains(stdout, "oob-client") || !strings.Contains(stdout, "DECLARABLE") {
		t.Fatalf("exit %d: %s", code, stdout)
	}
}

// The dry run plans what the run does: the tier's own stack, not the embedded one (the plan of `--tier local`
// names local:kubeflow and leaves out the clock the local tier does not have).
func TestDryRunPlansTheTier(t *testing.T) {
	code, stdout, stderr := runCLI(t, "run", "--dry-run", "--tier", "local", "--profile", "kubeflow")
	if code != 0 || !strings.Contains(stdout, "target local:kubeflow: tier local") || !regexp.MustCompile(`n/a +DEX-LOCAL-009 .*\[clock\]`).MatchString(stdout) {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "run", "--dry-run", "--profile", "kubeflow")
	if code != 0 || !regexp.MustCompile(`run +SA-001 `).MatchString(stdout) || !strings.Contains(stdout, "37 check(s) would run, 17 would be n/a") {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
}
