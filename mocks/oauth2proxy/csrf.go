package oauth2proxy

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/crypto/blake2b"
)

// csrfStateLength-1 characters of the hashed state go into a per-request CSRF cookie name (pkg/cookies/csrf.go).
const csrfStateLength = 9

// csrfState is what the CSRF cookie carries between the start of the login flow and the callback, as
// pkg/cookies/csrf.go's csrf: the state nonce, the OIDC nonce and the PKCE verifier.
type csrfState struct {
	OAuthState   []byte `json:"s,omitempty"`
	OIDCNonce    []byte `json:"n,omitempty"`
	CodeVerifier string `json:"cv,omitempty"`
}

func newCSRFState(codeVerifier string) (*csrfState, error) {
	state := make([]byte, 32)
	nonce := make([]byte, 32)
	if _, err := rand.Read(state); err != nil {
		return nil, fmt.Errorf("CSRF nonce: %w", err)
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("CSRF nonce: %w", err)
	}
	return &csrfState{OAuthState: state, OIDCNonce: nonce, CodeVerifier: codeVerifier}, nil
}

// hashNonce mirrors encryption.HashNonce: base64url(BLAKE2b-256(nonce)).
func hashNonce(nonce []byte) string {
	sum := blake2b.Sum256(nonce)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func checkNonce(nonce []byte, hashed string) bool {
	return hmac.Equal([]byte(hashNonce(nonce)), []byte(hashed))
}

// csrfCookieName is the CSRF cookie's name for a hashed state: CSRFCookieName, or with cookie_csrf_per_request
// <CookieName>_<first 8 characters of the hashed state>_csrf (pkg/cookies/csrf.go csrfCookieName).
func (p *Proxy) csrfCookieName(hashedState string) string {
	if !p.cfg.CSRFPerRequest || len(hashedState) < csrfStateLength-1 {
		return p.cfg.CSRFCookieName
	}
	return p.cfg.CookieName + "_" + hashedState[:csrfStateLength-1] + "_csrf"
}

// setCSRFCookie sets the CSRF cookie, with the session cookie's flags and CSRFExpire.
func (p *Proxy) setCSRFCookie(w http.ResponseWriter, c *csrfState) error {
	name := p.csrfCookieName(hashNonce(c.OAuthState))
	now := p.cfg.Now()
	value, err := p.encodeCookieValue(name, c, now, false)
	if err != nil {
		return err
	}
	http.SetCookie(w, p.makeCookie(name, value, p.cfg.CSRFExpire, now))
	return nil
}

// loadCSRFCookie finds and decodes the named CSRF cookie. As decodeCSRFCookie, its timestamp is checked against
// CookieExpire (not CSRFExpire); cookies of that name that fail are skipped.
func (p *Proxy) loadCSRFCookie(r *http.Request, name string) (*csrfState, error) {
	for _, c := range r.Cookies() {
		if c.Name != name {
			continue
		}
		var st csrfState
		if err := p.decodeCookieValue(name, c.Value, &st, false); err != nil {
			continue
		}
		return &st, nil
	}
	return nil, fmt.Errorf("CSRF cookie with name '%v' was not found", name)
}

func (p *Proxy) clearCSRFCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, p.makeCookie(name, "", -time.Hour, p.cfg.Now()))
}
