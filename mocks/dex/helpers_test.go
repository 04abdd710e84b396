package dex

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Shared, expensive fixtures: one RSA key and one bcrypt hash (cost 10) for the whole package.
var (
	keyOnce    sync.Once
	testKey    *rsa.PrivateKey
	hashOnce   sync.Once
	testHash   []byte
	lowCostOne sync.Once
	lowHash    []byte
)

const (
	testEmail    = "user@example.com"
	testPassword = "12341234"
	testUserID   = "15841185641784"
	confClient   = "kubeflow-oidc-authservice"
	confSecret   = "pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok"
	confRedirect = "/oauth2/callback"
	oobClient    = "kubeflow-pipelines-sdk"
	verifier     = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	challengeS   = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 appendix B
)

func sharedKey(t testing.TB) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatalf("generate key: %v", err)
		}
		testKey = k
	})
	return testKey
}

func passwordHash(t testing.TB) []byte {
	hashOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.DefaultCost)
		if err != nil {
			t.Fatalf("bcrypt: %v", err)
		}
		testHash = h
	})
	return testHash
}

// cheapHash has cost 4, below Dex's minimum.
func cheapHash(t testing.TB) []byte {
	lowCostOne.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
		if err != nil {
			t.Fatalf("bcrypt: %v", err)
		}
		lowHash = h
	})
	return lowHash
}

// fakeClock is an injectable clock that tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is one server behind a loopback listener, with the Kubeflow clients and user.
type env struct {
	t      *testing.T
	srv    *Server
	ts     *httptest.Server
	clock  *fakeClock
	client *http.Client // never follows redirects
}

func (e *env) issuer() string { return e.ts.URL + "/dex" }

// newEnv starts a server; mutate adjusts the default config (one local connector, skipApprovalScreen on).
func newEnv(t *testing.T, mutate func(*Config)) *env {
	t.Helper()
	clock := &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	var handler http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	cfg := Config{
		Issuer:             ts.URL + "/dex",
		Connectors:         []ConnectorConfig{{ID: "local", Name: "Email", Type: "local"}},
		SkipApprovalScreen: true,
		Now:                clock.Now,
		SigningKey:         sharedKey(t),
		StaticClients: []Client{
			{ID: confClient, Secret: confSecret, Name: "Dex Login Application", RedirectURIs: []string{confRedirect}},
			{ID: oobClient, Name: "KFP SDK", Public: true, RedirectURIs: []string{redirectURIOOB}},
		},
		StaticPasswords: []Password{{Email: testEmail, Hash: passwordHash(t), Username: "user", UserID: testUserID}},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	handler = srv
	return &env{
		t: t, srv: srv, ts: ts, clock: clock,
		client: &http.Client{
			Timeout:       5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) location() string { return r.header.Get("Location") }

func (e *env) do(req *http.Request) response {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := e.client.Do(req.WithContext(ctx))
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// get takes a path ("/dex/auth?..") or a full URL.
func (e *env) get(target string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.abs(target), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(req)
}

func (e *env) postForm(target string, form url.Values) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.abs(target), strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

func (e *env) abs(target string) string {
	if strings.HasPrefix(target, "/") {
		return e.ts.URL + target
	}
	return target
}

// authQuery is an authorization request of oauth2-proxy's shape for the confidential client.
func authQuery(extra url.Values) url.Values {
	q := url.Values{
		"client_id":             {confClient},
		"redirect_uri":          {confRedirect},
		"response_type":         {"code"},
		"scope":                 {"openid profile email groups"},
		"state":                 {"st4te"},
		"code_challenge":        {challengeS},
		"code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return q
}

// startLogin runs /auth/local and returns the login form URL.
func (e *env) startLogin(q url.Values) string {
	e.t.Helper()
	r := e.get("/dex/auth/local?" + q.Encode())
	if r.status != http.StatusFound {
		e.t.Fatalf("GET /dex/auth/local: status %d, body %q", r.status, r.body)
	}
	return r.location()
}

// loginCode runs a whole skip-approval login and returns the code from the redirect.
func (e *env) loginCode(q url.Values) string {
	e.t.Helper()
	r := e.postForm(e.startLogin(q), url.Values{"login": {testEmail}, "password": {testPassword}})
	if r.status != http.StatusSeeOther {
		e.t.Fatalf("POST login: status %d, body %q", r.status, r.body)
	}
	u, err := url.Parse(r.location())
	if err != nil {
		e.t.Fatal(err)
	}
	code := u.Query().Get("code")
	if code == "" {
		e.t.Fatalf("no code in %q", r.location())
	}
	return code
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("body lacks %q:\n%s", w, body)
		}
	}
}
