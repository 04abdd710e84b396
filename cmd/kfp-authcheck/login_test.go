package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
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
		t.Fatal("no authorization URL printed")
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
