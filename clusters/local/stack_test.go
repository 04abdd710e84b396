package local

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// TestKubeflowLoginAgainstRealPrograms logs in through the real oauth2-proxy and Dex with the same scripted
// browser the embedded tier uses, and the session reaches the KFP stand-in as the user.
func TestKubeflowLoginAgainstRealPrograms(t *testing.T) {
	s := startStack(t, "kubeflow", Options{})
	env := checks.NewEnv(s.Target())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u, err := env.FirstUser("local")
	if err != nil {
		t.Fatal(err)
	}
	sess, _, err := env.Login(ctx, u)
	if err != nil {
		t.Fatalf("login through the real oauth2-proxy and Dex: %v", err)
	}
	if _, err := env.API(sess).ListExperiments(ctx, u.Namespace); err != nil {
		t.Fatalf("list experiments with the real oauth2-proxy's cookie: %v", err)
	}
	// A spoofed identity header without a session never reaches KFP: oauth2-proxy refuses first.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.PipelineURL+"/apis/v2beta1/experiments?namespace="+u.Namespace, nil)
	req.Header.Set("kubeflow-userid", u.Email)
	resp, err := env.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("spoofed kubeflow-userid without a session: got %d, want oauth2-proxy's 401", resp.StatusCode)
	}
}

// TestProvisionThroughRealDexGRPC: fixtures.ProvisionDex adds a user beside the static ones through the real
// Dex's gRPC API, and that user can log in.
func TestProvisionThroughRealDexGRPC(t *testing.T) {
	s := startStack(t, "kubeflow", Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	extra := fixtures.DexUser{Email: "extra@example.com", Username: "extra", Password: "extra-password-1"}
	if err := fixtures.ProvisionDex(ctx, s.DexGRPCAddr, []fixtures.DexUser{extra}, nil); err != nil {
		t.Fatalf("provision through the real Dex's gRPC API: %v", err)
	}
	tg := s.Target()
	tg.Users = []target.User{{Email: extra.Email, Password: extra.Password, Connector: "local"}}
	tg.Redactor.Add(extra.Password)
	if _, _, err := checks.NewEnv(tg).Login(ctx, tg.Users[0]); err != nil {
		t.Fatalf("login as the provisioned user: %v", err)
	}
	// The profile's own users are static in Dex's config, read-only through the API as on a real deployment.
	err := fixtures.ProvisionDex(ctx, s.DexGRPCAddr, []fixtures.DexUser{{Email: s.Users[0].Email, Password: "x-y-z-1"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("replacing a static password: got %v, want Dex's read-only refusal", err)
	}
}

// TestCloseLeavesNothing: after Close every program has exited and the temporary directory is gone.
func TestCloseLeavesNothing(t *testing.T) {
	s := startStack(t, "deploykf", Options{})
	procs := append([]*process(nil), s.procs.procs...)
	if len(procs) != 2 {
		t.Fatalf("want dex and oauth2-proxy running, have %d processes", len(procs))
	}
	dir := s.dir
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if ok, _ := p.exited(); !ok {
			t.Errorf("%s still running after Close", p.name)
		}
		if err := syscall.Kill(-p.cmd.Process.Pid, 0); err == nil {
			t.Errorf("process group of %s still exists after Close", p.name)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("stack directory %s not removed: %v", dir, err)
	}
}

// TestFailedStartStopsWhatStarted: a program that cannot start (here: oauth2-proxy given a config it refuses)
// stops Dex again and names the program with its log.
func TestFailedStartStopsWhatStarted(t *testing.T) {
	tools := requireTools(t, "dex", "oauth2-proxy")
	fake := t.TempDir()
	for _, n := range []string{"dex", "dex.stamp"} {
		if err := os.Symlink(tools+"/"+n, fake+"/"+n); err != nil {
			t.Fatal(err)
		}
	}
	// An "oauth2-proxy" that says what it is and exits at once.
	if err := os.WriteFile(fake+"/oauth2-proxy", []byte("#!/bin/sh\necho 'invalid configuration: test' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Get("kubeflow")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var seen []*process
	testHookStarted = func(p *process) { seen = append(seen, p) }
	defer func() { testHookStarted = nil }()
	s, err := Start(ctx, p, Options{ToolsDir: fake})
	_ = s
	if err == nil {
		s.Close()
		t.Fatal("start succeeded with a broken oauth2-proxy")
	}
	var se *StartError
	if !errors.As(err, &se) || se.Program != "oauth2-proxy" || !strings.Contains(se.LogTail, "invalid configuration: test") {
		t.Fatalf("got %v, want a StartError for oauth2-proxy with its log", err)
	}
	if len(seen) != 2 {
		t.Errorf("want dex and oauth2-proxy started once each, saw %d processes", len(seen))
	}
	for _, p := range seen {
		if ok, _ := p.exited(); !ok {
			t.Errorf("%s still running after the failed start", p.name)
		}
	}
}
