package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/auth/oob"
	"github.com/kfp-authcheck/kfp-authcheck/auth/tokencache"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// syncBuffer is a stderr the test reads while the command writes it; urls receives the authorization URL.
type syncBuffer struct {
	mu   sync.Mutex
	b    strings.Builder
	urls chan string
}

var authURLPattern = regexp.MustCompile(`https?://\S+/auth\?\S+`)

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	if m := authURLPattern.FindString(s.b.String()); m != "" && s.urls != nil {
		s.urls <- m
		s.urls = nil
	}
	return len(p), nil
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestLoginPastesTheCodeAndCaches runs `login --target` against a deployKF stack: the URL printed on stderr is
// opened by the scripted browser, whose code is typed into stdin, as a person would; the second run is served
// from the cache without a prompt.
func TestLoginPastesTheCodeAndCaches(t *testing.T) {
	p, _ := profile.Get("deploykf")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stack, err := embedded.Start(ctx, p, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	dir := t.TempDir()
	desc, _ := stack.Description().Marshal()
	targetFile := filepath.Join(dir, "stack.json")
	if err := os.WriteFile(targetFile, desc, 0o600); err != nil {
		t.Fatal(err)
	}
	cachePath := filepath.Join(dir, "kfp", "dkf_credentials.json")

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	stdin = pr
	defer func() { stdin = os.Stdin }()
	errb := &syncBuffer{urls: make(chan string, 1)}
	var out strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, []string{"login", "--target", targetFile, "--cache", cachePath}, &out, errb)
	}()

	var authURL string
	select {
	case authURL = <-errb.urls:
	case code := <-done:
		t.Fatalf("login ended with %d before printing a URL: %s", code, errb.String())
	case <-ctx.Done():
		var stacks strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
		t.Fatalf("no authorization URL printed; stderr so far: %q\ngoroutines:\n%s", errb.String(), stacks.String())
	}
	tgt := stack.Target()
	b, err := browser.New(browser.Options{TLSConfig: tgt.TLS, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	u := tgt.Users[0]
	code, err := (&oob.Browser{Browser: b, Username: u.Email, Password: u.Password}).Authorize(ctx, authURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pw.WriteString(code + "\n"); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	select {
	case c := <-done:
		if c != exitOK {
			t.Fatalf("exit %d: %s", c, errb.String())
		}
	case <-ctx.Done():
		t.Fatal("login did not finish")
	}
	if strings.Contains(errb.String(), code) || out.Len() != 0 {
		t.Errorf("the code or a token reached the output: stdout %q", out.String())
	}
	st, err := os.Stat(cachePath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v %v", st, err)
	}
	e, err := (&tokencache.Cache{Path: cachePath}).Load(stack.IssuerURL)
	if err != nil || e == nil || e.IDToken == "" || e.RefreshToken == "" {
		t.Fatalf("cached entry %+v %v", e, err)
	}

	// Again: the cached token is used, no prompt, and --print gives the ID token.
	stdin = strings.NewReader("")
	code2, out2, err2 := runCLI(t, "login", "--target", targetFile, "--cache", cachePath, "--print")
	if code2 != exitOK || strings.TrimSpace(out2) != e.IDToken || !strings.Contains(err2, "(cached)") || strings.Contains(err2, "Code:") {
		t.Errorf("second login: exit %d, stderr %q", code2, err2)
	}
	if !strings.Contains(err2, "logged in as "+u.Email) {
		t.Errorf("no \"logged in as %s\": %q", u.Email, err2)
	}

	// status names the issuer, the user and the refresh token; logout removes the entry; status then has none.
	if code, out, _ := runCLI(t, "status", "--cache", cachePath); code != exitOK || !strings.Contains(out, stack.IssuerURL+": "+u.Email) ||
		!strings.Contains(out, "refresh token kept") || strings.Contains(out, e.IDToken) {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "logout", "--issuer", stack.IssuerURL, "--cache", cachePath); code != exitOK || !strings.Contains(out, "logged out of") {
		t.Errorf("logout: exit %d %s", code, out)
	}
	if code, out, _ := runCLI(t, "status", "--cache", cachePath); code != exitOK || !strings.Contains(out, "no cached tokens") {
		t.Errorf("status after logout: exit %d\n%s", code, out)
	}
	if e, _ := (&tokencache.Cache{Path: cachePath}).Load(stack.IssuerURL); e != nil {
		t.Error("the entry survived logout")
	}

	// The stack's https issuer without its CA: the message says why and suggests --ca-file (exit 1).
	code3, _, err3 := runCLI(t, "login", "--issuer", stack.IssuerURL, "--no-cache")
	if code3 != exitUnexpected || !strings.Contains(err3, "--ca-file") || !strings.Contains(err3, "does not trust") {
		t.Errorf("untrusted CA: exit %d, stderr %q", code3, err3)
	}
}

// TestLoginUnreachableIssuerExitsThree: nothing listens at the issuer: exit 3, as run does, with a hint.
func TestLoginUnreachableIssuerExitsThree(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	code, _, errOut := runCLI(t, "login", "--issuer", "http://"+addr+"/dex", "--no-cache", "--timeout", "20s")
	if code != exitUnreachable || !strings.Contains(errOut, "cannot be reached") || !strings.Contains(errOut, "hint:") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "login", "--issuer", "http://"+addr+"/dex", "--timeout", "20s", "--cache", filepath.Join(t.TempDir(), "c.json"))
	if code != exitUnreachable || !strings.Contains(errOut, "UNREACHABLE") {
		t.Errorf("with the cache: exit %d, stderr %q", code, errOut)
	}
}

func TestLoginUsageErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"no issuer":       {"login"},
		"both":            {"login", "--issuer", "https://x/dex", "--target", "t.yaml"},
		"not a URL":       {"login", "--issuer", "dex.example.com"},
		"missing ca file": {"login", "--issuer", "https://x/dex", "--ca-file", "/nonexistent/ca.pem"},
		"missing target":  {"login", "--target", "/nonexistent/t.yaml"},
		"unknown flag":    {"login", "--issuer", "https://x/dex", "--bogus"},
	} {
		t.Run(name, func(t *testing.T) {
			if code, _, errOut := runCLI(t, args...); code != exitUsage {
				t.Errorf("exit %d, want 2: %s", code, errOut)
			}
		})
	}
}
