package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code = execute(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunEmbeddedProfileExitsZeroAndPrintsTheMatrix(t *testing.T) {
	code, out, errOut := runCLI(t, "run", "--profile", "kubeflow,standalone", "--only", "SETUP,DEX-LOCAL-003")
	if code != exitOK {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"SETUP-001", "SETUP-002", "DEX-LOCAL-003", "kubeflow", "standalone"} {
		if !strings.Contains(out, want) {
			t.Errorf("matrix lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "capabilities") {
		t.Errorf("the effective configuration is not printed first on stderr:\n%s", errOut)
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	dir := t.TempDir()
	badKey := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badKey, []byte("gateway_url: http://127.0.0.1:1\ngatway: x\n"), 0o600)
	for name, args := range map[string][]string{
		"unknown profile":       {"run", "--profile", "kubeflw"},
		"unknown format":        {"run", "--format", "pdf"},
		"unknown check":         {"run", "--only", "NOPE-001"},
		"unknown flag":          {"run", "--bogus"},
		"missing target file":   {"run", "--target", filepath.Join(dir, "absent.yaml")},
		"unknown key in file":   {"run", "--target", badKey},
		"two profiles + target": {"run", "--target", badKey, "--profile", "kubeflow,deploykf"},
		"unknown --kfp":         {"run", "--tier", "local", "--kfp", "mock"},
		"real KFP on embedded":  {"run", "--kfp", "real"},
		"serve real KFP embed":  {"serve", "--kfp", "real-no-mesh"},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, errOut := runCLI(t, args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want 2; stderr: %s", code, errOut)
			}
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
				t.Fatalf("stack trace in output: %s", errOut)
			}
		})
	}
	_, _, errOut := runCLI(t, "run", "--target", badKey)
	if !strings.Contains(errOut, `"gatway"`) {
		t.Errorf("the unknown key is not named: %s", errOut)
	}
}

func TestUnreachableTargetExitsThree(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens there now
	file := filepath.Join(t.TempDir(), "t.yaml")
	os.WriteFile(file, []byte("gateway_url: http://"+addr+"\n"), 0o600)
	code, _, errOut := runCLI(t, "run", "--target", file)
	if code != exitUnreachable {
		t.Fatalf("exit %d, want 3; stderr: %s", code, errOut)
	}
	if !strings.Contains(errOut, "UNREACHABLE") {
		t.Errorf("no reason code in %q", errOut)
	}
}

// TestNoSecretReachesAnyOutput runs the live-target path with canary passwords, right and wrong, and fails if a
// canary or anything token-shaped shows up in stdout, stderr or any report file.
func TestNoSecretReachesAnyOutput(t *testing.T) {
	const canary = "Canary-Pw-5f1e9c3a"
	const wrongCanary = "Wrong-Canary-8d2b7e11"
	p, err := profile.Get("kubeflow")
	if err != nil {
		t.Fatal(err)
	}
	stack, err := embedded.Start(context.Background(), p, embedded.Options{Passwords: map[string]string{"user@example.com": canary}})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()

	for _, tc := range []struct {
		name, password string
		wantCode       int
	}{{"right password", canary, exitOK}, {"wrong password", wrongCanary, exitUnexpected}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			desc := stack.Description()
			desc.Users[0].Password = ""
			desc.Users[0].PasswordEnv = "KFP_AUTHCHECK_CANARY"
			t.Setenv("KFP_AUTHCHECK_CANARY", tc.password)
			b, _ := desc.Marshal()
			file := filepath.Join(dir, "target.json")
			os.WriteFile(file, b, 0o600)
			out := filepath.Join(dir, "out")
			code, stdout, stderr := runCLI(t, "run", "--target", file, "--only", "SETUP,DEX-LOCAL",
				"--format", "text,md,json,junit", "--out", out, "--progress", "always")
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.wantCode, stdout, stderr)
			}
			texts := map[string]string{"stdout": stdout, "stderr": stderr}
			entries, _ := os.ReadDir(out)
			if len(entries) < 4 {
				t.Fatalf("expected 4 report files, got %d", len(entries))
			}
			for _, e := range entries {
				b, _ := os.ReadFile(filepath.Join(out, e.Name()))
				texts[e.Name()] = string(b)
			}
			for where, text := range texts {
				for _, secret := range []string{canary, wrongCanary, p.Gateway.ClientSecret, "eyJ"} {
					if strings.Contains(text, secret) {
						t.Errorf("%s contains a secret (%q...)", where, secret[:4])
					}
				}
			}
			if tc.wantCode == exitUnexpected {
				var run result.Run
				if err := json.Unmarshal([]byte(texts["kfp-authcheck.json"]), &run); err != nil {
					t.Fatalf("run JSON: %v", err)
				}
				for _, r := range run.Results {
					if r.ID == "DEX-LOCAL-006" && r.Reason != result.InvalidCredentials {
						t.Errorf("DEX-LOCAL-006 with a wrong password: reason %q, want INVALID_CREDENTIALS", r.Reason)
					}
				}
			}
		})
	}
}

// TestServeDescribesAStackThatIsATargetFile starts `serve`, reads its description from stdout and the ready
// file, and checks it is a valid target file with the contract's keys and a 0600 mode.
func TestServeDescribesAStackThatIsATargetFile(t *testing.T) {
	ready := filepath.Join(t.TempDir(), "ready.json")
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, []string{"serve", "--profile", "deploykf", "--ready-file", ready}, pw, io.Discard)
		pw.Close()
	}()
	var raw bytes.Buffer
	dec := json.NewDecoder(io.TeeReader(bufio.NewReader(pr), &raw))
	var desc map[string]any
	errc := make(chan error, 1)
	go func() { errc <- dec.Decode(&desc) }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("decode description: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("serve printed no description within a minute")
	}
	for _, key := range []string{"profile", "gateway_url", "pipeline_url", "issuer_url", "in_cluster_api_url", "users", "oob_client_id", "tls"} {
		if _, ok := desc[key]; !ok {
			t.Errorf("description lacks %q", key)
		}
	}
	st, err := os.Stat(ready)
	if err != nil {
		t.Fatalf("ready file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("ready file mode %v, want 0600", st.Mode().Perm())
	}
	tf, err := target.LoadFile(ready)
	if err != nil {
		t.Fatalf("the description is not a valid target file: %v", err)
	}
	if tf.Profile != "deploykf" || !strings.HasPrefix(tf.GatewayURL, "https://127.0.0.1:") {
		t.Errorf("unexpected description: %+v", tf)
	}
	cancel()
	go io.Copy(io.Discard, pr)
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("serve exited %d after SIGINT-equivalent, want 0", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}
