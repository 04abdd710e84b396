package oauth2proxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// harness is a proxy in front of a recording upstream, served on 127.0.0.1:0, with its fake IdP.
type harness struct {
	t        *testing.T
	idp      *fakeIdP
	clock    *testClock
	cfg      Config
	proxy    *Proxy
	srv      *httptest.Server
	upstream *recordingUpstream
}

type recordingUpstream struct {
	mu   sync.Mutex
	last http.Header
	hits int
}

func (u *recordingUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.last = r.Header.Clone()
	u.hits++
	u.mu.Unlock()
	_, _ = io.WriteString(w, "upstream")
}

func (u *recordingUpstream) header() http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last
}

// kubeflowConfig is oauth2_proxy.cfg of kubeflow/manifests 1.9+ pointed at the fake IdP.
func kubeflowConfig(idp *fakeIdP, clock *testClock) Config {
	return Config{
		ProxyPrefix:            "/oauth2",
		StartPath:              "/oauth2/start",
		CallbackPath:           "/oauth2/callback",
		RedirectURL:            "/oauth2/callback",
		RelativeRedirectURL:    true,
		ClientID:               testClientID,
		ClientSecret:           testClientSecret,
		Scope:                  "profile email groups openid",
		Prompt:                 "none",
		CodeChallengeMethod:    "S256",
		LoginURL:               "/dex/auth",
		RedeemURL:              idp.issuer + "/token",
		JWKSURL:                idp.issuer + "/keys",
		IssuerURL:              idp.issuer,
		APIRoutes:              []string{"/api/", "/apis/", "^/ml_metadata"},
		SkipAuthRoutes:         []string{"^/dex/"},
		CookieName:             "oauth2_proxy_kubeflow",
		CookieHTTPOnly:         true,
		CookieSameSite:         "lax",
		CookieExpire:           24 * time.Hour,
		CookieSecret:           []byte("7d16fee92f8d11b8940b081b3f8b8acb"),
		UserIDHeader:           "kubeflow-userid",
		UserIDClaim:            "email",
		SetAuthorizationHeader: true,
		SkipJWTBearerTokens:    true,
		HTTPClient:             &http.Client{Timeout: 5 * time.Second},
		Now:                    clock.Now,
	}
}

func newHarness(t *testing.T, edit func(*Config)) *harness {
	t.Helper()
	clock := newTestClock()
	idp := newFakeIdP(t, clock)
	cfg := kubeflowConfig(idp, clock)
	if edit != nil {
		edit(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h := &harness{t: t, idp: idp, clock: clock, cfg: cfg, proxy: p, upstream: &recordingUpstream{}}
	h.srv = httptest.NewServer(p.Handler(h.upstream))
	t.Cleanup(h.srv.Close)
	return h
}

// reply is a response with its body read (bounded).
type reply struct {
	*http.Response
	body string
}

// get sends a GET to the proxy without following redirects.
func (h *harness) get(path string, header http.Header, cookies ...*http.Cookie) reply {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.srv.URL+path, nil)
	if err != nil {
		h.t.Fatalf("request %s: %v", path, err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	client := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		h.t.Fatalf("reading %s: %v", path, err)
	}
	return reply{Response: resp, body: string(b)}
}

// login runs start and callback with claims and returns the session cookies set.
func (h *harness) login(claims map[string]any) []*http.Cookie {
	h.t.Helper()
	start := h.get("/oauth2/start?rd=/pipeline/", nil)
	loc := location(h.t, start)
	code := h.idp.issueCode(claims, loc.Query().Get("code_challenge"))
	cb := h.get("/oauth2/callback?code="+code+"&state="+url.QueryEscape(loc.Query().Get("state")), nil, start.Cookies()...)
	if cb.StatusCode != http.StatusFound {
		h.t.Fatalf("callback: status %d, want 302; body %.300s", cb.StatusCode, cb.body)
	}
	var session []*http.Cookie
	for _, c := range cb.Cookies() {
		if strings.HasPrefix(c.Name, h.cfg.CookieName) && !strings.HasSuffix(c.Name, "_csrf") {
			session = append(session, c)
		}
	}
	if len(session) == 0 {
		h.t.Fatal("callback set no session cookie")
	}
	return session
}

func location(t *testing.T, r reply) *url.URL {
	t.Helper()
	if r.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want 302; body %.300s", r.StatusCode, r.body)
	}
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatalf("Location %q: %v", r.Header.Get("Location"), err)
	}
	return u
}

func cookieNamed(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func setCookieLines(r reply) []string { return r.Header.Values("Set-Cookie") }
