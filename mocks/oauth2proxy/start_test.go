package oauth2proxy

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestStartRedirectsToDex(t *testing.T) {
	h := newHarness(t, nil)
	r := h.get("/oauth2/start?rd=/pipeline/", nil)
	loc := location(t, r)
	if loc.Path != "/dex/auth" || loc.Host != "" {
		t.Errorf("Location %s, want the relative login URL /dex/auth", loc)
	}
	keys := queryKeysInOrder(loc.RawQuery)
	if !sort.StringsAreSorted(keys) {
		t.Errorf("query keys %v not sorted (url.Values.Encode sorts them)", keys)
	}
	wantKeys := []string{"client_id", "code_challenge", "code_challenge_method", "prompt", "redirect_uri", "response_type", "scope", "state"}
	if strings.Join(keys, ",") != strings.Join(wantKeys, ",") {
		t.Errorf("query keys %v, want %v", keys, wantKeys)
	}
	q := loc.Query()
	for k, want := range map[string]string{
		"client_id": testClientID, "redirect_uri": "/oauth2/callback", "response_type": "code",
		"scope": "profile email groups openid", "code_challenge_method": "S256", "prompt": "none",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(loc.RawQuery, "scope=profile+email+groups+openid") || !strings.Contains(loc.RawQuery, "redirect_uri=%2Foauth2%2Fcallback") {
		t.Errorf("query %q not encoded as url.Values.Encode does", loc.RawQuery)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(q.Get("code_challenge")) {
		t.Errorf("code_challenge %q is not a base64url SHA-256", q.Get("code_challenge"))
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}:/pipeline/$`).MatchString(q.Get("state")) {
		t.Errorf("state %q, want <hashed nonce>:/pipeline/", q.Get("state"))
	}
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-cache") {
		t.Errorf("Cache-Control %q, want no-cache", cc)
	}

	csrf := cookieNamed(r.Cookies(), "oauth2_proxy_kubeflow_csrf")
	if csrf == nil {
		t.Fatalf("no oauth2_proxy_kubeflow_csrf cookie in %q", setCookieLines(r))
	}
	if !csrf.HttpOnly || csrf.Secure || csrf.SameSite != http.SameSiteLaxMode || csrf.Path != "/" {
		t.Errorf("CSRF cookie flags %q, want the session cookie's (HttpOnly, not Secure, SameSite=Lax, Path=/)", setCookieLines(r))
	}
	if want := h.clock.Now().Add(15 * time.Minute); !csrf.Expires.Equal(want) {
		t.Errorf("CSRF cookie expires %v, want %v (15m)", csrf.Expires, want)
	}
	if strings.Count(csrf.Value, "|") != 2 {
		t.Errorf("CSRF cookie value is not payload|timestamp|signature")
	}
}

func TestStartPromptAndPKCEOptions(t *testing.T) {
	cases := []struct {
		name       string
		edit       func(*Config)
		want       map[string]string
		wantAbsent []string
	}{
		{name: "prompt", want: map[string]string{"prompt": "none"}, wantAbsent: []string{"approval_prompt", "nonce"}},
		{name: "default approval_prompt=force", edit: func(c *Config) { c.Prompt = "" },
			want: map[string]string{"approval_prompt": "force"}, wantAbsent: []string{"prompt"}},
		{name: "approval_prompt set", edit: func(c *Config) { c.Prompt, c.ApprovalPrompt = "", "auto" },
			want: map[string]string{"approval_prompt": "auto"}, wantAbsent: []string{"prompt"}},
		{name: "authservice sends neither", edit: func(c *Config) { c.Prompt, c.OmitPrompt = "", true },
			wantAbsent: []string{"prompt", "approval_prompt"}},
		{name: "no PKCE", edit: func(c *Config) { c.CodeChallengeMethod = "" },
			wantAbsent: []string{"code_challenge", "code_challenge_method"}},
		{name: "nonce", edit: func(c *Config) { c.OIDCNonce = true }, want: map[string]string{"prompt": "none"}},
		{name: "login URL with its own query", edit: func(c *Config) { c.LoginURL = "https://idp.example/dex/auth?connector_id=local" },
			want: map[string]string{"connector_id": "local"}},
		{name: "absolute redirect resolved against the request", edit: func(c *Config) { c.RelativeRedirectURL = false },
			want: map[string]string{"redirect_uri": "http://HOST/oauth2/callback"}},
		{name: "secure cookie forces https", edit: func(c *Config) { c.RelativeRedirectURL, c.CookieSecure = false, true },
			want: map[string]string{"redirect_uri": "https://HOST/oauth2/callback"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.edit)
			q := location(t, h.get("/oauth2/start?rd=/", nil)).Query()
			host := strings.TrimPrefix(h.srv.URL, "http://")
			for k, v := range tc.want {
				if got := q.Get(k); got != strings.ReplaceAll(v, "HOST", host) {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, k := range tc.wantAbsent {
				if q.Has(k) {
					t.Errorf("%s present (%q), want absent", k, q.Get(k))
				}
			}
			if h.cfg.OIDCNonce && len(q.Get("nonce")) != 43 {
				t.Errorf("nonce %q, want a hashed nonce", q.Get("nonce"))
			}
		})
	}
}

func TestCSRFCookieNames(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want func(state string) string
	}{
		{name: "plain", want: func(string) string { return "oauth2_proxy_kubeflow_csrf" }},
		{name: "per request", edit: func(c *Config) { c.CSRFPerRequest = true },
			want: func(state string) string { return "oauth2_proxy_kubeflow_" + state[:8] + "_csrf" }},
		{name: "deployKF", edit: func(c *Config) {
			c.CookieName, c.CookieSecure, c.CSRFPerRequest = "__Secure-_deploykf_token", true, true
		},
			want: func(state string) string { return "__Secure-_deploykf_token_" + state[:8] + "_csrf" }},
		{name: "authservice", edit: func(c *Config) { c.CookieName, c.CSRFCookieName = "authservice_session", "oidc_state_csrf" },
			want: func(string) string { return "oidc_state_csrf" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.edit)
			r := h.get("/oauth2/start?rd=/", nil)
			state := location(t, r).Query().Get("state")
			cookies := r.Cookies()
			if len(cookies) != 1 {
				t.Fatalf("Set-Cookie %q, want exactly one CSRF cookie", setCookieLines(r))
			}
			if want := tc.want(state); cookies[0].Name != want {
				t.Errorf("CSRF cookie %q, want %q", cookies[0].Name, want)
			}
		})
	}
}

func TestStartRefusesOpenRedirects(t *testing.T) {
	cases := []struct{ rd, want string }{
		{rd: "/pipeline/#/runs", want: "/pipeline/#/runs"},
		{rd: "/", want: "/"},
		{rd: "https://evil.example/steal", want: "/"},
		{rd: "http://evil.example", want: "/"},
		{rd: "//evil.example/steal", want: "/"},
		{rd: `/\evil.example`, want: "/"},
		{rd: "/ /evil.example", want: "/"},
		{rd: "/../evil.example", want: "/"},
		{rd: "javascript:alert(1)", want: "/"},
		{rd: "", want: "/"},
	}
	h := newHarness(t, nil)
	for _, tc := range cases {
		t.Run(tc.rd, func(t *testing.T) {
			state := location(t, h.get("/oauth2/start?rd="+url.QueryEscape(tc.rd), nil)).Query().Get("state")
			_, rd, _ := strings.Cut(state, ":")
			if rd != tc.want {
				t.Errorf("state carries redirect %q, want %q", rd, tc.want)
			}
		})
	}
}

func TestSkipProviderButtonStartsFromTheRequestURI(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SkipProviderButton = true })
	r := h.get("/notebook/ns/?x=1", nil)
	state := location(t, r).Query().Get("state")
	if _, rd, _ := strings.Cut(state, ":"); rd != "/notebook/ns/?x=1" {
		t.Errorf("state redirect %q, want the request URI", rd)
	}
	if cookieNamed(r.Cookies(), "oauth2_proxy_kubeflow_csrf") == nil {
		t.Errorf("no CSRF cookie: %q", setCookieLines(r))
	}
}

// queryKeysInOrder lists the keys of a raw query in the order they appear.
func queryKeysInOrder(raw string) []string {
	var keys []string
	for _, kv := range strings.Split(raw, "&") {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	return keys
}
