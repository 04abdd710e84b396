package oauth2proxy

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCallbackSuccess(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CookieSecure = true })
	start := h.get("/oauth2/start?rd=/pipeline/%23/runs", nil)
	loc := location(t, start)
	challenge := loc.Query().Get("code_challenge")
	code := h.idp.issueCode(nil, challenge)

	r := h.get("/oauth2/callback?code="+code+"&state="+url.QueryEscape(loc.Query().Get("state")), nil, start.Cookies()...)
	if got := location(t, r).String(); got != "/pipeline/#/runs" {
		t.Errorf("Location %q, want the rd from the state", got)
	}

	session := cookieNamed(r.Cookies(), "oauth2_proxy_kubeflow")
	if session == nil {
		t.Fatalf("no session cookie in %q", setCookieLines(r))
	}
	if !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteLaxMode || session.Path != "/" {
		t.Errorf("session cookie flags wrong: %q", setCookieLines(r))
	}
	if want := h.clock.Now().Add(24 * time.Hour); !session.Expires.Equal(want) {
		t.Errorf("session cookie expires %v, want %v (cookie_expire)", session.Expires, want)
	}
	parts := strings.Split(session.Value, "|")
	if len(parts) != 3 || parts[1] != itoa(h.clock.Now().Unix()) {
		t.Errorf("session value is not <payload>|<unix ts>|<signature>")
	}
	if strings.Contains(session.Value, "user@example.com") {
		t.Errorf("session cookie carries the email in clear")
	}
	csrf := cookieNamed(r.Cookies(), "oauth2_proxy_kubeflow_csrf")
	if csrf == nil || csrf.Value != "" || !csrf.Expires.Before(h.clock.Now()) {
		t.Errorf("CSRF cookie not cleared: %q", setCookieLines(r))
	}

	tr := h.idp.lastTokenRequest()
	if !tr.hasBasic || tr.basicUser != testClientID {
		t.Errorf("token request without the client's HTTP Basic credentials")
	}
	for k, want := range map[string]string{"grant_type": "authorization_code", "code": code, "redirect_uri": "/oauth2/callback"} {
		if got := tr.form.Get(k); got != want {
			t.Errorf("token request %s = %q, want %q", k, got, want)
		}
	}
	if s256(tr.form.Get("code_verifier")) != challenge {
		t.Errorf("code_verifier does not match the code_challenge sent to Dex")
	}

	// The session now opens the API.
	api := h.get("/pipeline/apis/v2beta1/experiments", nil, session)
	if api.StatusCode != http.StatusOK || api.body != "upstream" {
		t.Fatalf("with the session: status %d body %q, want upstream's 200", api.StatusCode, api.body)
	}
	up := h.upstream.header()
	if got := up.Get("kubeflow-userid"); got != "user@example.com" {
		t.Errorf("kubeflow-userid %q", got)
	}
	if got := up.Get("Authorization"); !strings.HasPrefix(got, "Bearer ey") {
		t.Errorf("Authorization %q, want the ID token as bearer", got)
	}
	for k, want := range map[string]string{"X-Auth-Request-Email": "user@example.com", "X-Auth-Request-User": "CiQwOGE4Njg0Yi1kYjg4",
		"X-Auth-Request-Groups": "team-a", "X-Auth-Request-Preferred-Username": "user"} {
		if got := up.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestCallbackAbsoluteRedirectURIAtTokenEndpoint(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RelativeRedirectURL = false })
	h.login(nil)
	want := h.srv.URL + "/oauth2/callback"
	if got := h.idp.lastTokenRequest().form.Get("redirect_uri"); got != want {
		t.Errorf("token request redirect_uri %q, want %q (the one sent to the login URL)", got, want)
	}
}

func TestCallbackFailures(t *testing.T) {
	cases := []struct {
		name       string
		edit       func(*Config)
		run        func(h *harness) reply
		wantStatus int
		wantText   string
	}{
		{name: "CSRF cookie missing", wantStatus: 403, wantText: "Unable to find a valid CSRF token", run: func(h *harness) reply {
			loc := location(h.t, h.get("/oauth2/start?rd=/", nil))
			return h.get("/oauth2/callback?code="+h.idp.issueCode(nil, loc.Query().Get("code_challenge"))+"&state="+url.QueryEscape(loc.Query().Get("state")), nil)
		}},
		{name: "CSRF cookie of another login", wantStatus: 403, wantText: "Unable to find a valid CSRF token", run: func(h *harness) reply {
			first := h.get("/oauth2/start?rd=/", nil)
			second := location(h.t, h.get("/oauth2/start?rd=/", nil))
			// The first login's cookie (same name) with the second login's state. oauth2-proxy redeems before it
			// compares the state, so the code is challenge-free to let the redeem succeed.
			code := h.idp.issueCode(nil, "")
			return h.get("/oauth2/callback?code="+code+"&state="+url.QueryEscape(second.Query().Get("state")), nil, first.Cookies()...)
		}},
		{name: "per-request CSRF cookie of another login", edit: func(c *Config) { c.CSRFPerRequest = true }, wantStatus: 403,
			wantText: "Unable to find a valid CSRF token", run: func(h *harness) reply {
				first := h.get("/oauth2/start?rd=/", nil)
				second := location(h.t, h.get("/oauth2/start?rd=/", nil))
				return h.get("/oauth2/callback?code="+h.idp.issueCode(nil, "")+"&state="+url.QueryEscape(second.Query().Get("state")), nil, first.Cookies()...)
			}},
		{name: "forged CSRF cookie", wantStatus: 403, wantText: "Unable to find a valid CSRF token", run: func(h *harness) reply {
			start := h.get("/oauth2/start?rd=/", nil)
			loc := location(h.t, start)
			forged := *start.Cookies()[0]
			forged.Value = strings.Replace(forged.Value, "|", "A|", 1)
			return h.get("/oauth2/callback?code="+h.idp.issueCode(nil, "")+"&state="+url.QueryEscape(loc.Query().Get("state")), nil, &forged)
		}},
		{name: "Dex refuses the code", wantStatus: 500, wantText: "Something went wrong", run: func(h *harness) reply {
			start := h.get("/oauth2/start?rd=/", nil)
			loc := location(h.t, start)
			return h.get("/oauth2/callback?code=unknown&state="+url.QueryEscape(loc.Query().Get("state")), nil, start.Cookies()...)
		}},
		{name: "wrong client secret", edit: func(c *Config) { c.ClientSecret = "wrong" }, wantStatus: 500, run: func(h *harness) reply {
			start := h.get("/oauth2/start?rd=/", nil)
			loc := location(h.t, start)
			return h.get("/oauth2/callback?code="+h.idp.issueCode(nil, "")+"&state="+url.QueryEscape(loc.Query().Get("state")), nil, start.Cookies()...)
		}},
		{name: "ID token for another client", wantStatus: 500, run: func(h *harness) reply {
			start := h.get("/oauth2/start?rd=/", nil)
			loc := location(h.t, start)
			code := h.idp.issueCode(map[string]any{"aud": "someone-else"}, loc.Query().Get("code_challenge"))
			return h.get("/oauth2/callback?code="+code+"&state="+url.QueryEscape(loc.Query().Get("state")), nil, start.Cookies()...)
		}},
		{name: "ID token from another issuer", wantStatus: 500, run: func(h *harness) reply {
			start := h.get("/oauth2/start?rd=/", nil)
			loc := location(h.t, start)
			code := h.idp.issueCode(map[string]any{"iss": "https://other.example/dex"}, loc.Query().Get("code_challenge"))
			return h.get("/oauth2/callback?code="+code+"&state="+url.QueryEscape(loc.Query().Get("state")), nil, start.Cookies()...)
		}},
		{name: "IdP error parameter", wantStatus: 403, wantText: "The upstream identity provider returned an error: access_denied", run: func(h *harness) reply {
			return h.get("/oauth2/callback?error=access_denied&state=x:/", nil)
		}},
		{name: "state without redirect", wantStatus: 500, run: func(h *harness) reply {
			return h.get("/oauth2/callback?code=c&state=nocolon", nil)
		}},
		{name: "nonce mismatch", edit: func(c *Config) { c.OIDCNonce = true }, wantStatus: 403, wantText: "Session validation failed", run: func(h *harness) reply {
			start := h.get("/oauth2/start?rd=/", nil)
			loc := location(h.t, start)
			code := h.idp.issueCode(map[string]any{"nonce": "not-the-nonce"}, loc.Query().Get("code_challenge"))
			return h.get("/oauth2/callback?code="+code+"&state="+url.QueryEscape(loc.Query().Get("state")), nil, start.Cookies()...)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.edit)
			r := tc.run(h)
			if r.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %.300s", r.StatusCode, tc.wantStatus, r.body)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q, want an HTML error page", ct)
			}
			if !strings.Contains(r.body, "<title>"+itoa(int64(tc.wantStatus))+" "+http.StatusText(tc.wantStatus)+"</title>") {
				t.Errorf("page lacks oauth2-proxy's title line: %.300s", r.body)
			}
			if tc.wantText != "" && !strings.Contains(r.body, tc.wantText) {
				t.Errorf("page lacks %q: %.500s", tc.wantText, r.body)
			}
			if cookieNamed(r.Cookies(), "oauth2_proxy_kubeflow") != nil {
				t.Errorf("a failed callback set a session cookie")
			}
			if strings.Contains(r.body, testClientSecret) {
				t.Errorf("error page leaks the client secret")
			}
		})
	}
}

func TestCallbackNonceMatches(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OIDCNonce = true })
	start := h.get("/oauth2/start?rd=/", nil)
	loc := location(t, start)
	code := h.idp.issueCode(map[string]any{"nonce": loc.Query().Get("nonce")}, loc.Query().Get("code_challenge"))
	r := h.get("/oauth2/callback?code="+code+"&state="+url.QueryEscape(loc.Query().Get("state")), nil, start.Cookies()...)
	if r.StatusCode != http.StatusFound || cookieNamed(r.Cookies(), "oauth2_proxy_kubeflow") == nil {
		t.Fatalf("status %d, want 302 with a session; body %.300s", r.StatusCode, r.body)
	}
}

func TestCallbackRefusesOpenRedirectInState(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.CodeChallengeMethod = "" })
	start := h.get("/oauth2/start?rd=/", nil)
	nonce, _, _ := strings.Cut(location(t, start).Query().Get("state"), ":")
	r := h.get("/oauth2/callback?code="+h.idp.issueCode(nil, "")+"&state="+url.QueryEscape(nonce+"://evil.example/"), nil, start.Cookies()...)
	if got := location(t, r).String(); got != "/" {
		t.Errorf("Location %q, want / for a state redirect to another host", got)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
