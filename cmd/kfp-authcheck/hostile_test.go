package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHostileExitCodes: configuration mistakes are exit 2 before anything is sent (and in --dry-run), an
// interrupt before the checks is an aborted run (exit 1). The library-level tables are in internal/hostile.
func TestHostileExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "gateway_url: http://127.0.0.1:1\n")
	aFile := write("plain-file", "x")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"gateway_url port 99999 (run)", []string{"run", "--target", write("port.yaml", "gateway_url: http://127.0.0.1:99999\n")}, "not a TCP port"},
		{"gateway_url port 99999 (dry run)", []string{"run", "--dry-run", "--target", filepath.Join(dir, "port.yaml")}, "not a TCP port"},
		{"a second YAML document", []string{"run", "--dry-run", "--target", write("two.yaml", "gateway_url: http://127.0.0.1:1\n---\nprofile: kubeflow\n")}, "more than one YAML document"},
		{"missing kubeconfig (run)", []string{"run", "--target", write("kc.yaml", "gateway_url: http://127.0.0.1:1\nkubeconfig: nowhere.kubeconfig\n")}, "kubeconfig"},
		{"missing kubeconfig (dry run)", []string{"run", "--dry-run", "--target", filepath.Join(dir, "kc.yaml")}, "kubeconfig"},
		{"--out under a plain file", []string{"run", "--target", good, "--out", filepath.Join(aFile, "reports")}, "is not a directory"},
		{"--archive is a directory", []string{"run", "--target", good, "--archive", dir}, "is a directory"},
		{"--archive in a missing directory", []string{"run", "--target", good, "--archive", filepath.Join(dir, "none", "a.tar.gz")}, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, c.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitUsage, out, errOut)
			}
			if !strings.Contains(errOut, c.want) {
				t.Fatalf("stderr does not say %q:\n%s", c.want, errOut)
			}
			if strings.Contains(errOut, "could not be reached") {
				t.Fatalf("something was sent before the configuration error:\n%s", errOut)
			}
		})
	}
}

// TestInterruptDuringPreflightExitsOne: Ctrl-C while the gateway is being asked is an aborted run, not an
// unreachable target (exit 3).
func TestInterruptDuringPreflightExitsOne(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer srv.Close()
	tf := filepath.Join(t.TempDir(), "t.yaml")
	if err := os.WriteFile(tf, []byte("gateway_url: "+srv.URL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		<-arrived
		cancel()
	}()
	var out, errb bytes.Buffer
	code := execute(ctx, []string{"run", "--target", tf}, &out, &errb)
	if code != exitUnexpected {
		t.Fatalf("exit %d, want %d (aborted)\n%s", code, exitUnexpected, errb.String())
	}
	if !strings.Contains(errb.String(), "interrupted") {
		t.Fatalf("stderr does not say the run was interrupted:\n%s", errb.String())
	}
}

// TestInterruptDuringStackStartExitsOne: Ctrl-C while the local tier's stack starts is an aborted run (exit 1),
// not a configuration error (exit 2). Skipped where the local tier's programs are not built.
func TestInterruptDuringStackStartExitsOne(t *testing.T) {
	if os.Getenv("KFP_AUTHCHECK_TOOLS") == "" {
		if _, err := os.Stat("../../bin/tools/dex"); err != nil {
			t.Skip("the local tier's programs are not built (make tools)")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // interrupted before the stack is up
	var out, errb bytes.Buffer
	code := execute(ctx, []string{"run", "--tier", "local", "--profile", "deploykf", "--only", "SETUP-001"}, &out, &errb)
	if code != exitUnexpected {
		t.Fatalf("exit %d, want %d (aborted)\n%s", code, exitUnexpected, errb.String())
	}
}
