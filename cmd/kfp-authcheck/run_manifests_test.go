package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const releaseRendering = "../../profile/importer/testdata/kubeflow-manifests/v1.10.2.yaml"

// TestRunManifestsImportsThenRuns: run --manifests imports a release's rendering and runs it as the one profile:
// kubeflow 1.10.2's own ClusterRoles (the kubeflow-1.10 fixture) pass RBAC-003, and its m2m-dex-only gateway
// refuses cluster tokens as M2M-001 expects. A release candidate whose kubeflow-pipelines-edit no longer
// aggregates KFP's write rules runs with its own roles (in memory) and fails RBAC-003.
func TestRunManifestsImportsThenRuns(t *testing.T) {
	code, out, errOut := runCLI(t, "run", "--manifests", releaseRendering, "--only", "SETUP-001,RBAC-003,M2M-001", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "ClusterRoles: kubeflow-1.10") || !strings.Contains(out, `"profile": "imported"`) {
		t.Fatalf("the import is not named or not run:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
	for _, id := range []string{"RBAC-003", "M2M-001"} {
		if !strings.Contains(out, `"id": "`+id+`"`) {
			t.Errorf("%s did not run:\n%s", id, out)
		}
	}

	b, err := os.ReadFile(releaseRendering)
	if err != nil {
		t.Fatal(err)
	}
	// The candidate's aggregate-to-kubeflow-pipelines-edit keeps its Argo and scheduledworkflows rules and loses
	// KFP's: kubeflow-edit, which aggregates it, no longer grants KFP's writes.
	const head = "  name: aggregate-to-kubeflow-pipelines-edit\nrules:\n"
	const keep = "- apiGroups:\n  - kubeflow.org\n  resources:\n  - scheduledworkflows\n"
	i := strings.Index(string(b), head)
	j := strings.Index(string(b)[i+1:], keep)
	if i < 0 || j < 0 {
		t.Fatalf("the rendering's aggregate-to-kubeflow-pipelines-edit is not as the test expects it")
	}
	broken := string(b)[:i+len(head)] + string(b)[i+1+j:]
	rc := filepath.Join(t.TempDir(), "rc.yaml")
	if err := os.WriteFile(rc, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "run", "--manifests", rc, "--only", "RBAC-003", "--format", "json")
	if code != exitUnexpected {
		t.Fatalf("exit %d, want %d (RBAC-003 fails)\nstdout:\n%s\nstderr:\n%s", code, exitUnexpected, out, errOut)
	}
	if !strings.Contains(errOut, "ClusterRoles: its own (in memory)") || !strings.Contains(out, "create runs.pipelines.kubeflow.org under edit") {
		t.Fatalf("the candidate's own roles were not judged:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
}

func TestRunManifestsBadUseExits2(t *testing.T) {
	dir := t.TempDir()
	k := filepath.Join(dir, "kustomization.yaml")
	if err := os.WriteFile(k, []byte("resources:\n- base\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"run", "--manifests", k},
		{"run", "--manifests", releaseRendering, "--profile", "kubeflow"},
		{"run", "--manifests", releaseRendering, "--tier", "kind"},
		{"run", "--manifests", filepath.Join(dir, "missing.yaml")},
	} {
		if code, _, errOut := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitUsage, errOut)
		}
	}
}
