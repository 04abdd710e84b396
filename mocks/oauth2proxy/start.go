package oauth2proxy

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
)

// startLogin mirrors OAuthProxy.doOAuthStart: a fresh CSRF cookie (state nonce, OIDC nonce, PKCE verifier)
// and a 302 to the login URL.
func (p *Proxy) startLogin(w http.ResponseWriter, r *http.Request) {
	prepareNoCache(w)
	params := url.Values{}
	var verifier string
	if p.cfg.CodeChallengeMethod != "" {
		var err error
		if verifier, err = codeVerifier(); err != nil {
			p.log.Error("creating PKCE verifier", "err", err)
			p.errorPage(w, r, http.StatusInternalServerError, "")
			return
		}
		params.Add("code_challenge", codeChallenge(p.cfg.CodeChallengeMethod, verifier))
		params.Add("code_challenge_method", p.cfg.CodeChallengeMethod)
	}
	csrf, err := newCSRFState(verifier)
	if err != nil {
		p.log.Error("creating CSRF state", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	state := hashNonce(csrf.OAuthState) + ":" + p.appRedirect(r)
	if p.cfg.OIDCNonce {
		params.Add("nonce", hashNonce(csrf.OIDCNonce))
	}
	if err := p.setCSRFCookie(w, csrf); err != nil {
		p.log.Error("setting CSRF cookie", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	http.Redirect(w, r, p.loginURL(p.redirectURI(r), state, params), http.StatusFound)
}

// loginURL mirrors providers makeLoginURL: LoginURL's own query plus redirect_uri, scope, client_id,
// response_type, state, the prompt parameter and extra, encoded by url.Values.Encode (keys sorted).
func (p *Proxy) loginURL(redirectURI, state string, extra url.Values) string {
	u := *p.c.loginURL
	params, _ := url.ParseQuery(u.RawQuery)
	params.Set("redirect_uri", redirectURI)
	params.Add("scope", p.cfg.Scope)
	params.Set("client_id", p.cfg.ClientID)
	params.Set("response_type", "code")
	params.Add("state", state)
	switch {
	case p.cfg.OmitPrompt:
	case p.cfg.Prompt != "":
		params.Add("prompt", p.cfg.Prompt)
	case p.cfg.ApprovalPrompt != "":
		params.Add("approval_prompt", p.cfg.ApprovalPrompt)
	default:
		params.Add("approval_prompt", "force")
	}
	for k, vs := range extra {
		for _, v := range vs {
			params.Add(k, v)
		}
	}
	u.RawQuery = params.Encode()
	return u.String()
}

// redirectURI mirrors getOAuthRedirectURI: RedirectURL as configured when it has a host or
// RelativeRedirectURL is set; otherwise resolved against the request (https when CookieSecure).
func (p *Proxy) redirectURI(r *http.Request) string {
	if p.cfg.RelativeRedirectURL || p.c.redirectURL.Host != "" {
		return p.c.redirectURL.String()
	}
	u := *p.c.redirectURL
	u.Host = r.Host
	u.Scheme = "http"
	if p.cfg.CookieSecure { // oauth2-proxy looks at the URL scheme, which a server request lacks, not at TLS
		u.Scheme = "https"
	}
	return u.String()
}

// codeVerifier mirrors encryption.GenerateCodeVerifierString(96): 96 random bytes, base64url without padding.
func codeVerifier() (string, error) {
	b := make([]byte, 96)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("PKCE verifier: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func codeChallenge(method, verifier string) string {
	if method == "plain" {
		return verifier
	}
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
