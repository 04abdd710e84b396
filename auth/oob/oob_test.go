package oob

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/auth/tokencache"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/dex"
)

const (
	email    = "user1@example.com"
	password = "user1-Pa55"
	// helperEnv makes the test binary one of the concurrent refreshers of TestConcurrentRefreshersInProcesses.
	helperEnv = "OOB_TEST_HELPER"
)

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
	hash    []byte
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		os.Exit(refresherHelper(spec))
	}
	os.Exit(m.Run())
}

// clock is a movable clock shared by Dex and the client.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// issuer is a Dex stand-in with deployKF's public client and one user; grants counts token requests by grant type.
type issuer struct {
	url    string
	clock  *clock
	grants sync.Map // grant_type -> *atomic.Int64
	dex    *dex.Server
}

func (i *issuer) count(grant string) int64 {
	v, ok := i.grants.Load(grant)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func newIssuer(t *testing.T, policy dex.RefreshPolicy) *issuer {
	t.Helper()
	keyOnce.Do(func() {
		key, _ = rsa.GenerateKey(rand.Reader, 2048)
		hash, _ = bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	})
	is := &issuer{clock: &clock{}}
	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") && r.Method == http.MethodPost {
			_ = r.ParseForm()
			v, _ := is.grants.LoadOrStore(r.PostForm.Get("grant_type"), new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	is.url = ts.URL + "/dex"
	d, err := dex.New(dex.Config{
		Issuer: is.url, Connectors: []dex.ConnectorConfig{{ID: "local", Name: "Email", Type: "local"}},
		SkipApprovalScreen: true, IDTokenTTL: time.Hour, Now: is.clock.Now, SigningKey: key, RefreshTokens: policy,
		StaticClients:   []dex.Client{{ID: DefaultClientID, Name: "Kubeflow Pipelines SDK", Public: true, RedirectURIs: []string{RedirectURI}}},
		StaticPasswords: []dex.Password{{Email: email, Hash: hash, Username: email, UserID: email}},
	})
	if err != nil {
		t.Fatal(err)
	}
	h, is.dex = d, d
	return is
}

func (i *issuer) config(rt http.RoundTripper) Config {
	return Config{Issuer: i.url, HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: rt}, Now: i.clock.Now}
}

func scripted(t *testing.T) *Browser {
	b, err := browser.New(browser.Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &Browser{Browser: b, Username: email, Password: password}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestLoginThroughDexPages(t *testing.T) {
	is := newIssuer(t, dex.RefreshPolicy{})
	ctx := testCtx(t)
	c, err := Discover(ctx, is.config(nil))
	if err != nil {
		t.Fatal(err)
	}
	verifier := NewVerifier()
	if len(verifier) != 128 {
		t.Errorf("verifier length %d, want 128 as deployKF's", len(verifier))
	}
	u, _ := url.Parse(c.AuthCodeURL("st", verifier))
	q := u.Query()
	if q.Get("redirect_uri") != RedirectURI || q.Get("code_challenge_method") != "S256" || q.Get("client_id") != DefaultClientID ||
		q.Get("scope") != "openid email groups profile offline_access" {
		t.Errorf("authorization URL %s", u)
	}
	tok, err := c.Login(ctx, scripted(t))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.Claims.Email != email || len(tok.Claims.Audience) != 1 || tok.Claims.Audience[0] != DefaultClientID {
		t.Errorf("token %+v", tok.Claims)
	}
	if d := time.Until(tok.Expiry); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expiry in %v, want the ID token TTL of 1h", d)
	}
}

func TestDiscoveryRefusesAnotherIssuerSpelling(t *testing.T) {
	is := newIssuer(t, dex.RefreshPolicy{})
	_, err := Discover(testCtx(t), Config{Issuer: is.url + "/"})
	if err == nil || !strings.Contains(err.Error(), "did not match") {
		t.Errorf("a trailing slash: %v, want go-oidc's issuer mismatch", err)
	}
}

// codeFor runs the browser part only and returns a fresh code and its verifier.
func codeFor(t *testing.T, c *Client) (string, string) {
	verifier := NewVerifier()
	code, err := scripted(t).Authorize(testCtx(t), c.AuthCodeURL("st", verifier))
	if err != nil {
		t.Fatal(err)
	}
	return code, verifier
}

func TestWrongVerifierAndCodeReplay(t *testing.T) {
	is := newIssuer(t, dex.RefreshPolicy{})
	ctx := testCtx(t)
	c, err := Discover(ctx, is.config(nil))
	if err != nil {
		t.Fatal(err)
	}
	code, verifier := codeFor(t, c)
	_, err = c.Exchange(ctx, code, NewVerifier())
	if te, ok := AsTokenError(err); !ok || te.Status != 400 || te.Code != "invalid_grant" || te.Description != "Invalid code_verifier." {
		t.Fatalf("wrong verifier: %v", err)
	}
	if _, err := c.Exchange(ctx, code, verifier); err != nil {
		t.Fatalf("the right verifier after a wrong one: %v", err)
	}
	_, err = c.Exchange(ctx, code, verifier)
	if te, ok := AsTokenError(err); !ok || te.Code != "invalid_grant" || te.Description != "Invalid or expired code parameter." {
		t.Errorf("replayed code: %v", err)
	}
}

// countingTransport counts requests, to prove a cached token costs no network call.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestSourceCachedRefreshedInteractive(t *testing.T) {
	is := newIssuer(t, dex.RefreshPolicy{ReuseInterval: 30 * time.Second, ValidIfNotUsedFor: 168 * time.Hour, AbsoluteLifetime: 2160 * time.Hour})
	ctx := testCtx(t)
	rt := &countingTransport{}
	interactive := 0
	b := scripted(t)
	src := &Source{Config: is.config(rt), Cache: &tokencache.Cache{Path: filepath.Join(t.TempDir(), "dkf_credentials.json")},
		Authorizer: AuthorizerFunc(func(ctx context.Context, u string) (string, error) { interactive++; return b.Authorize(ctx, u) })}

	r, err := src.Token(ctx)
	if err != nil || r.Outcome != Interactive || interactive != 1 {
		t.Fatalf("first: %v %v", r, err)
	}
	first := r.Entry
	before := rt.n.Load()
	r, err = src.Token(ctx)
	if err != nil || r.Outcome != Cached || rt.n.Load() != before || r.Entry.IDToken != first.IDToken {
		t.Fatalf("second: outcome %v, %d network calls, err %v", r.Outcome, rt.n.Load()-before, err)
	}
	// 56 minutes on, 4 minutes are left: under deployKF's 300 s, so the refresh grant runs and rotates.
	is.clock.Advance(56 * time.Minute)
	r, err = src.Token(ctx)
	if err != nil || r.Outcome != Refreshed || r.Entry.RefreshToken == first.RefreshToken || r.Entry.IDToken == first.IDToken {
		t.Fatalf("near expiry: %+v %v", r, err)
	}
	// A week of idleness: Dex refuses the refresh token, the source falls back to the login.
	is.clock.Advance(169 * time.Hour)
	r, err = src.Token(ctx)
	if err != nil || r.Outcome != Interactive || interactive != 2 {
		t.Fatalf("after idle expiry: %+v %v", r, err)
	}
	if te, ok := AsTokenError(r.RefreshErr); !ok || te.Description != "Refresh token expired." {
		t.Errorf("refresh error %v, want Dex's expiry", r.RefreshErr)
	}
	// Without an authorizer the same situation is an error, not a hang.
	is.clock.Advance(2161 * time.Hour)
	src.Authorizer = nil
	if _, err := src.Token(ctx); !errors.Is(err, ErrNoAuthorizer) {
		t.Errorf("no authorizer: %v", err)
	}
}

// loggedInOnRotatingDex is a login on a Dex with rotation and no reuse interval (what every Kubeflow
// release runs: none sets expiry.refreshTokens), with the issuer, the test's context and the token.
func loggedInOnRotatingDex(t *testing.T) (*issuer, context.Context, *Token) {
	t.Helper()
	is := newIssuer(t, dex.RefreshPolicy{})
	ctx := testCtx(t)
	c, err := Discover(ctx, is.config(nil))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Login(ctx, scripted(t))
	if err != nil {
		t.Fatal(err)
	}
	return is, ctx, tok
}

// TestSourceThresholdIs300Seconds: deployKF's policy at its threshold, on a Dex with rotation and no reuse
// interval (what every Kubeflow release runs: none sets expiry.refreshTokens). With 310 s left the cached token
// is returned without a network call; with 290 s left the refresh grant runs once; a refused refresh token
// falls back to the interactive login (with TestSourceCachedRefreshedInteractive, what the retired check OOB-012
// judged).
func TestSourceThresholdIs300Seconds(t *testing.T) {
	is, ctx, tok := loggedInOnRotatingDex(t)
	rt := &countingTransport{}
	interactive := 0
	b := scripted(t)
	cache := &tokencache.Cache{Path: filepath.Join(t.TempDir(), "dkf_credentials.json")}
	src := &Source{Config: is.config(rt), Cache: cache,
		Authorizer: AuthorizerFunc(func(ctx context.Context, u string) (string, error) { interactive++; return b.Authorize(ctx, u) })}
	store := func(e *tokencache.Entry, left time.Duration) {
		t.Helper()
		e.ExpiresAt = float64(is.clock.Now().Add(left).Unix())
		if err := cache.Store(ctx, is.url, e); err != nil {
			t.Fatal(err)
		}
	}

	store(tok.Entry(), 310*time.Second)
	r, err := src.Token(ctx)
	if err != nil || r.Outcome != Cached || rt.n.Load() != 0 {
		t.Fatalf("310 s left: outcome %v, %d network calls, err %v; want cached without a call", r.Outcome, rt.n.Load(), err)
	}
	store(tok.Entry(), 290*time.Second)
	r, err = src.Token(ctx)
	if err != nil || r.Outcome != Refreshed || is.count("refresh_token") != 1 || r.Entry.RefreshToken == tok.RefreshToken {
		t.Fatalf("290 s left: outcome %v, %d refresh grants, err %v; want one refresh with a rotated token", r.Outcome, is.count("refresh_token"), err)
	}
	// The spent refresh token again: Dex refuses it (no reuse interval), so the login runs.
	store(tok.Entry(), 290*time.Second)
	r, err = src.Token(ctx)
	if err != nil || r.Outcome != Interactive || interactive != 1 || r.RefreshErr == nil {
		t.Fatalf("a spent refresh token: outcome %v, %d interactive, refresh error %v, err %v; want the interactive login", r.Outcome, interactive, r.RefreshErr, err)
	}
}

func TestAbsoluteLifetimeEndsRefresh(t *testing.T) {
	is := newIssuer(t, dex.RefreshPolicy{ValidIfNotUsedFor: 2 * time.Hour, AbsoluteLifetime: 3 * time.Hour})
	ctx := testCtx(t)
	c, err := Discover(ctx, is.config(nil))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Login(ctx, scripted(t))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		is.clock.Advance(80 * time.Minute)
		if tok, err = c.Refresh(ctx, tok.RefreshToken); err != nil {
			t.Fatal(err)
		}
	}
	is.clock.Advance(21 * time.Minute) // 181 minutes since the login, 21 since the last use
	_, err = c.Refresh(ctx, tok.RefreshToken)
	if te, ok := AsTokenError(err); !ok || te.Code != "invalid_request" || te.Description != "Refresh token expired." {
		t.Errorf("past the absolute lifetime: %v", err)
	}
}

// TestConcurrentRefreshersInProcesses: two processes find the same stale token at once. Dex has no reuse interval,
// so if both spent the refresh token one would fail and need an interactive login; with the lock exactly one
// refresh reaches Dex, the other process takes the fresh token from the file, and the file stays valid (what the
// retired check OOB-009 judged).
func TestConcurrentRefreshersInProcesses(t *testing.T) {
	is, ctx, tok := loggedInOnRotatingDex(t)
	path := filepath.Join(t.TempDir(), "dkf_credentials.json")
	cache := &tokencache.Cache{Path: path}
	stale := tok.Entry()
	stale.ExpiresAt = float64(time.Now().Add(time.Minute).Unix()) // under 300 s: both will want to refresh
	if err := cache.Store(ctx, is.url, stale); err != nil {
		t.Fatal(err)
	}
	if err := cache.Store(ctx, "https://other.example/dex", &tokencache.Entry{AccessToken: "keep", ExpiresAt: 1}); err != nil {
		t.Fatal(err)
	}
	const procs = 2
	outs := make([]strings.Builder, procs)
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmds[i] = exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmds[i].Env = append(os.Environ(), helperEnv+"="+is.url+" "+path)
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	outcomes := map[string]int{}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper %d: %v: %s", i, err, outs[i].String())
		}
		outcomes[strings.TrimSpace(outs[i].String())]++
	}
	if outcomes["refreshed"] != 1 || outcomes["cached"] != 1 || is.count("refresh_token") != 1 {
		t.Errorf("outcomes %v, refresh grants at Dex %d; want one refresh and one cached", outcomes, is.count("refresh_token"))
	}
	b, _ := os.ReadFile(path)
	var all map[string]tokencache.Entry
	if err := json.Unmarshal(b, &all); err != nil || all["https://other.example/dex"].AccessToken != "keep" {
		t.Errorf("file after the race: %v %v", err, all)
	}
}

// refresherHelper is one process of TestConcurrentRefreshersInProcesses: "<issuer> <cache path>".
func refresherHelper(spec string) int {
	iss, path, _ := strings.Cut(spec, " ")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src := &Source{Config: Config{Issuer: iss}, Cache: &tokencache.Cache{Path: path},
		Authorizer: AuthorizerFunc(func(context.Context, string) (string, error) {
			return "", errors.New("interactive login needed: the refresh token was spent twice")
		})}
	r, err := src.Token(ctx)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println(r.Outcome)
	return 0
}
