package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

const rendering = "../../profile/importer/testdata/kubeflow-manifests/v1.10.2-m2m-dex-and-kind.yaml"

func TestProfileImportWritesAProfileThatRuns(t *testing.T) {
	out := filepath.Join(t.TempDir(), "release.yaml")
	code, stdout, stderr := runCLI(t, "profile", "import", "--manifests", rendering, "--name", "rc", "-o", out)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	p, err := profile.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "rc" || len(p.Gateway.M2MIssuers()) != 2 {
		t.Fatalf("imported %+v", p)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600 (it holds the client secret)", st.Mode())
	}
	code, stdout, stderr = runCLI(t, "run", "--profile", out, "--only", "SETUP,DEX-LOCAL-003,M2M-001")
	if code != exitOK {
		t.Fatalf("run --profile of the import: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

func TestProfileImportRedactsStdoutAndNamesSources(t *testing.T) {
	code, stdout, stderr := runCLI(t, "profile", "import", "--manifests", rendering)
	if code != exitOK || strings.Contains(stdout, "pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok") || !strings.Contains(stdout, "(redacted)") {
		t.Fatalf("exit %d; stdout must hold the profile with its secrets redacted:\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "profile", "import", "--manifests", rendering, "--format", "provenance")
	if code != exitOK || !strings.Contains(stdout, "RequestAuthentication istio-system/m2m-token-issuer [spec.jwtRules[0]]") ||
		strings.Contains(stdout, "pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok") {
		t.Fatalf("provenance:\n%s", stdout)
	}
}

func TestProfileImportBadInputExits2(t *testing.T) {
	dir := t.TempDir()
	k := filepath.Join(dir, "kustomization.yaml")
	if err := os.WriteFile(k, []byte("resources:\n- ../base\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("{{ not yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"profile", "import", "--manifests", k},
		{"profile", "import", "--manifests", bad},
		{"profile", "import", "--manifests", filepath.Join(dir, "missing.yaml")},
		{"profile", "import"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != exitUsage || !strings.Contains(stderr, "profile import") {
			t.Errorf("%v: exit %d, want 2 with a clear error; stderr %s", args, code, stderr)
		}
	}
}

func TestProfileFileIsAnAliasOfProfile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "release.yaml")
	if code, _, stderr := runCLI(t, "profile", "import", "--manifests", rendering, "--name", "rc", "-o", out); code != exitOK {
		t.Fatal(stderr)
	}
	code, stdout, stderr := runCLI(t, "run", "--profile-file", out, "--dry-run")
	if code != exitOK || !strings.Contains(stdout, "rc") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}
