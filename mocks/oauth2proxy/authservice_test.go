package oauth2proxy

import (
	"net/http"
	"net/url"
	"testing"
)

// authserviceConfig is Kubeflow 1.8's oidc-authservice expressed as options (WIRE-FACTS 1.5).
func authserviceConfig(c *Config) {
	c.ProxyPrefix = "/authservice"
	c.StartPath = ""
	c.CallbackPath = "/authservice/oidc/callback"
	c.RedirectURL = "/authservice/oidc/callback"
	c.Scope = "profile email groups"
	c.Prompt, c.OmitPrompt = "", true
	c.CodeChallengeMethod = ""
	c.SkipProviderButton = true
	c.APIRoutes = nil
	c.SkipAuthRoutes = []string{"^/dex"}
	c.CookieName = "authservice_session"
	c.CSRFCookieName = "oidc_state_csrf"
	c.SetAuthorizationHeader = false
}

func TestAuthserviceProfile(t *testing.T) {
	h := newHarness(t, authserviceConfig)

	// No API special case: even the KFP API gets a 302 to Dex.
	r := h.get("/pipeline/apis/v2beta1/runs?namespace=a", nil)
	loc := location(t, r)
	q := loc.Query()
	if loc.Path != "/dex/auth" {
		t.Errorf("Location path %q, want /dex/auth", loc.Path)
	}
	for k, want := range map[string]string{"client_id": testClientID, "redirect_uri": "/authservice/oidc/callback",
		"response_type": "code", "scope": "profile email groups"} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"prompt", "approval_prompt", "code_challenge", "code_challenge_method", "nonce"} {
		if q.Has(k) {
			t.Errorf("%s sent; oidc-authservice sends none", k)
		}
	}
	csrf := cookieNamed(r.Cookies(), "oidc_state_csrf")
	if csrf == nil {
		t.Fatalf("no oidc_state_csrf cookie: %q", setCookieLines(r))
	}

	// There is no start endpoint: /authservice/start is just another protected path.
	if r := h.get("/authservice/start?rd=/x", nil); r.StatusCode != http.StatusFound {
		t.Errorf("/authservice/start: status %d", r.StatusCode)
	}

	cb := h.get("/authservice/oidc/callback?code="+h.idp.issueCode(nil, "")+"&state="+url.QueryEscape(q.Get("state")), nil, csrf)
	if got := location(t, cb).String(); got != "/pipeline/apis/v2beta1/runs?namespace=a" {
		t.Errorf("after login Location %q, want the original URL", got)
	}
	session := cookieNamed(cb.Cookies(), "authservice_session")
	if session == nil {
		t.Fatalf("no authservice_session cookie: %q", setCookieLines(cb))
	}
	if got := h.idp.lastTokenRequest().form.Get("code_verifier"); got != "" {
		t.Errorf("code_verifier sent without PKCE")
	}
	if r := h.get("/pipeline/apis/v2beta1/runs", nil, session); r.StatusCode != http.StatusOK {
		t.Fatalf("with the session: %d", r.StatusCode)
	}
	if got := h.upstream.header().Get("kubeflow-userid"); got != "user@example.com" {
		t.Errorf("kubeflow-userid %q", got)
	}
}
