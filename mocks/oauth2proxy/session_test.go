package oauth2proxy

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBigSessionIsSplitAndReassembled(t *testing.T) {
	h := newHarness(t, nil)
	groups := make([]string, 200)
	for i := range groups {
		groups[i] = fmt.Sprintf("kubeflow-profile-group-%03d", i)
	}
	start := h.get("/oauth2/start?rd=/", nil)
	loc := location(t, start)
	code := h.idp.issueCode(map[string]any{"groups": groups}, loc.Query().Get("code_challenge"))
	r := h.get("/oauth2/callback?code="+code+"&state="+loc.Query().Get("state"), nil, start.Cookies()...)
	if r.StatusCode != http.StatusFound {
		t.Fatalf("callback status %d", r.StatusCode)
	}

	var parts []*http.Cookie
	for i := 0; ; i++ {
		c := cookieNamed(r.Cookies(), fmt.Sprintf("oauth2_proxy_kubeflow_%d", i))
		if c == nil {
			break
		}
		parts = append(parts, c)
	}
	if len(parts) < 2 {
		t.Fatalf("got %d split cookies, want at least 2; Set-Cookie %q", len(parts), setCookieLines(r))
	}
	if cookieNamed(r.Cookies(), "oauth2_proxy_kubeflow") != nil {
		t.Errorf("unsplit cookie set alongside the parts")
	}
	for _, line := range setCookieLines(r) {
		if strings.HasPrefix(line, "oauth2_proxy_kubeflow_") && len(line) > maxCookieLength {
			t.Errorf("Set-Cookie line of %d characters, over %d", len(line), maxCookieLength)
		}
	}
	for _, c := range parts {
		if !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("part %s lacks the session cookie's flags", c.Name)
		}
	}

	api := h.get("/pipeline/apis/v2beta1/runs", nil, parts...)
	if api.StatusCode != http.StatusOK {
		t.Fatalf("with the split cookies: status %d, want 200", api.StatusCode)
	}
	if got := h.upstream.header().Get("X-Auth-Request-Groups"); got != strings.Join(groups, ",") {
		t.Errorf("groups after reassembly: %d characters, want %d", len(got), len(strings.Join(groups, ",")))
	}

	// A missing middle part breaks the session.
	if r := h.get("/pipeline/apis/v2beta1/runs", nil, parts[0]); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("with only part 0: status %d, want 401", r.StatusCode)
	}

	// Sign-out clears every part.
	out := h.get("/oauth2/sign_out?rd=/bye", nil, parts...)
	if got := location(t, out).String(); got != "/bye" {
		t.Errorf("sign_out Location %q, want /bye", got)
	}
	for _, c := range parts {
		cleared := cookieNamed(out.Cookies(), c.Name)
		if cleared == nil || cleared.Value != "" || !cleared.Expires.Before(h.clock.Now()) {
			t.Errorf("sign_out did not clear %s", c.Name)
		}
	}
}

func TestSplitCookieEdge(t *testing.T) {
	c := &http.Cookie{Name: "n", Value: strings.Repeat("a", 10000), Path: "/", HttpOnly: true}
	parts := splitCookie(c)
	var joined strings.Builder
	for i, p := range parts {
		if p.Name != fmt.Sprintf("n_%d", i) {
			t.Errorf("part %d named %q", i, p.Name)
		}
		if len(p.String()) > maxCookieLength {
			t.Errorf("part %d is %d characters", i, len(p.String()))
		}
		joined.WriteString(p.Value)
	}
	if joined.String() != c.Value {
		t.Errorf("parts do not join back to the value")
	}
	if got := splitCookie(&http.Cookie{Name: "n", Value: "short"}); len(got) != 1 || got[0].Name != "n" {
		t.Errorf("a short cookie was split: %v", got)
	}
}

func TestSessionRefusedWhen(t *testing.T) {
	cases := []struct {
		name   string
		mangle func(h *harness, cs []*http.Cookie) []*http.Cookie
	}{
		{name: "ID token expired", mangle: func(h *harness, cs []*http.Cookie) []*http.Cookie {
			h.clock.advance(time.Hour + time.Second)
			return cs
		}},
		{name: "cookie older than cookie_expire", mangle: func(h *harness, cs []*http.Cookie) []*http.Cookie {
			h.clock.advance(25 * time.Hour)
			return cs
		}},
		{name: "signature altered", mangle: func(_ *harness, cs []*http.Cookie) []*http.Cookie {
			c := *cs[0]
			i := strings.LastIndex(c.Value, "|")
			c.Value = c.Value[:i+1] + "AAAA" + c.Value[i+5:]
			return []*http.Cookie{&c}
		}},
		{name: "payload altered", mangle: func(_ *harness, cs []*http.Cookie) []*http.Cookie {
			c := *cs[0]
			flip := map[bool]string{true: "C", false: "B"}[c.Value[0] == 'B']
			c.Value = flip + c.Value[1:]
			return []*http.Cookie{&c}
		}},
		{name: "timestamp altered", mangle: func(_ *harness, cs []*http.Cookie) []*http.Cookie {
			c := *cs[0]
			parts := strings.Split(c.Value, "|")
			c.Value = parts[0] + "|1|" + parts[2]
			return []*http.Cookie{&c}
		}},
		{name: "signed with another secret", mangle: func(h *harness, cs []*http.Cookie) []*http.Cookie {
			other, err := New(func() Config { c := h.cfg; c.CookieSecret = []byte("0123456789abcdef0123456789abcdef"); return c }())
			if err != nil {
				h.t.Fatal(err)
			}
			payload, _ := other.sealer.seal([]byte(`{"e":"admin@example.com","eo":"2999-01-01T00:00:00Z"}`))
			return []*http.Cookie{{Name: "oauth2_proxy_kubeflow", Value: signValue(other.cfg.CookieSecret, "oauth2_proxy_kubeflow", payload, h.clock.Now())}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			cs := h.login(nil)
			if r := h.get("/pipeline/apis/v2beta1/runs", nil, cs...); r.StatusCode != http.StatusOK {
				t.Fatalf("fresh session refused: %d", r.StatusCode)
			}
			cs = tc.mangle(h, cs)
			r := h.get("/pipeline/apis/v2beta1/runs", nil, cs...)
			if r.StatusCode != http.StatusUnauthorized || r.body != "{}" {
				t.Errorf("status %d body %q, want 401 {}", r.StatusCode, r.body)
			}
			if c := cookieNamed(r.Cookies(), "oauth2_proxy_kubeflow"); c == nil || !c.Expires.Before(h.clock.Now()) {
				t.Errorf("refused session cookie not cleared: %q", setCookieLines(r))
			}
			if b := h.get("/pipeline/", nil, cs...); b.StatusCode != http.StatusForbidden {
				t.Errorf("browser path: status %d, want the 403 sign-in page", b.StatusCode)
			}
		})
	}
}

func TestClientIdentityHeadersAreReplaced(t *testing.T) {
	h := newHarness(t, nil)
	cs := h.login(nil)
	spoof := http.Header{}
	spoof.Set("kubeflow-userid", "admin@example.com")
	spoof.Set("X-Auth-Request-Email", "admin@example.com")
	spoof.Set("X-Auth-Request-Groups", "admins")

	if r := h.get("/pipeline/apis/v2beta1/runs", spoof, cs...); r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	up := h.upstream.header()
	if got := up.Values("kubeflow-userid"); len(got) != 1 || got[0] != "user@example.com" {
		t.Errorf("kubeflow-userid upstream %q, want only the session's user@example.com", got)
	}
	if got := up.Get("X-Auth-Request-Groups"); got != "team-a" {
		t.Errorf("X-Auth-Request-Groups upstream %q, want the session's", got)
	}

	// A skip-auth route reaches upstream without a session, but never with the client's identity header.
	if r := h.get("/dex/auth", spoof); r.StatusCode != http.StatusOK {
		t.Fatalf("skip-auth route: status %d", r.StatusCode)
	}
	if got := h.upstream.header().Get("kubeflow-userid"); got != "" {
		t.Errorf("skip-auth route passed the client's kubeflow-userid %q", got)
	}

	// Unauthenticated requests with a spoofed header never reach upstream.
	hits := h.upstream.hits
	if r := h.get("/pipeline/apis/v2beta1/runs", spoof); r.StatusCode != http.StatusUnauthorized || h.upstream.hits != hits {
		t.Errorf("spoofed header without a session: status %d, upstream hits %d->%d", r.StatusCode, hits, h.upstream.hits)
	}
}

func TestUserIDClaimAndPrefix(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.UserIDClaim, c.UserIDPrefix, c.SetAuthorizationHeader = "sub", "oidc:", false })
	cs := h.login(nil)
	if r := h.get("/x", nil, cs...); r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	up := h.upstream.header()
	if got := up.Get("kubeflow-userid"); got != "oidc:CiQwOGE4Njg0Yi1kYjg4" {
		t.Errorf("kubeflow-userid %q, want prefix + sub", got)
	}
	if got := up.Get("Authorization"); got != "" {
		t.Errorf("Authorization %q set without SetAuthorizationHeader", got)
	}
}

func TestHealthEndpoints(t *testing.T) {
	h := newHarness(t, nil)
	for _, p := range []string{"/ping", "/ready"} {
		if r := h.get(p, nil); r.StatusCode != http.StatusOK || r.body != "OK" {
			t.Errorf("%s: %d %q, want 200 OK", p, r.StatusCode, r.body)
		}
	}
}

func TestSignOutRefusesOpenRedirect(t *testing.T) {
	h := newHarness(t, nil)
	if got := location(t, h.get("/oauth2/sign_out?rd=https://evil.example/", nil)).String(); got != "/" {
		t.Errorf("sign_out Location %q, want /", got)
	}
}
