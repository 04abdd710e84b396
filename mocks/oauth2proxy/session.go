package oauth2proxy

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// maxCookieLength is pkg/sessions/cookie's limit on one Set-Cookie line (name, value and attributes).
const maxCookieLength = 4000

// session is what the session cookie carries, encrypted; the fields mirror sessions.SessionState.
type session struct {
	Email             string    `json:"e,omitempty"`
	User              string    `json:"u,omitempty"`
	Groups            []string  `json:"g,omitempty"`
	PreferredUsername string    `json:"pu,omitempty"`
	IDToken           string    `json:"it,omitempty"`
	AccessToken       string    `json:"at,omitempty"`
	RefreshToken      string    `json:"rt,omitempty"`
	CreatedAt         time.Time `json:"ca"`
	ExpiresOn         time.Time `json:"eo"`
}

// expired mirrors SessionState.IsExpired.
func (s *session) expired(now time.Time) bool {
	return !s.ExpiresOn.IsZero() && s.ExpiresOn.Before(now)
}

// claim returns a session value by oauth2-proxy's claim names, falling back to a string claim of the ID token
// (verified when the session was made).
func (s *session) claim(name string) string {
	switch name {
	case "email":
		return s.Email
	case "user":
		return s.User
	case "preferred_username":
		return s.PreferredUsername
	}
	claims, err := unverifiedClaims(s.IDToken)
	if err != nil {
		return ""
	}
	v, _ := claims[name].(string)
	return v
}

// unverifiedClaims decodes a JWT's payload without checking it; only for tokens already verified.
func unverifiedClaims(jwt string) (map[string]any, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("JWT payload: %w", err)
	}
	claims := map[string]any{}
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, fmt.Errorf("JWT payload: %w", err)
	}
	return claims, nil
}

// makeCookie mirrors cookies.MakeCookieFromOptions: the configured path (default /) and flags, Expires =
// now+expiration unless expiration is 0.
func (p *Proxy) makeCookie(name, value string, expiration time.Duration, now time.Time) *http.Cookie {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     p.cookiePath(),
		HttpOnly: p.cfg.CookieHTTPOnly,
		Secure:   p.cfg.CookieSecure,
		SameSite: p.c.sameSite,
	}
	if expiration != 0 {
		c.Expires = now.Add(expiration)
	}
	return c
}

// saveSession sets the session cookie, split into <name>_0, <name>_1, ... when too long.
func (p *Proxy) saveSession(w http.ResponseWriter, s *session) error {
	value, err := p.encodeCookieValue(p.cfg.CookieName, s, s.CreatedAt, true)
	if err != nil {
		return err
	}
	for _, c := range splitCookie(p.makeCookie(p.cfg.CookieName, value, p.cfg.CookieExpire, s.CreatedAt)) {
		if mutate.On(mutate.OAuth2ProxySessionCookieNoPath) {
			c.Path = "" // the bug: the parts lose cookie_path, so a browser scopes them to the callback's /oauth2
		}
		http.SetCookie(w, c)
	}
	return nil
}

// loadSession reads the session cookie (joining split parts); http.ErrNoCookie when there is none.
func (p *Proxy) loadSession(r *http.Request) (*session, error) {
	c, err := joinedCookie(r, p.cfg.CookieName)
	if err != nil {
		return nil, err
	}
	var s session
	if err := p.decodeCookieValue(p.cfg.CookieName, c.Value, &s, true); err != nil {
		return nil, err
	}
	if s.expired(p.cfg.Now()) {
		return nil, errors.New("session is expired")
	}
	return &s, nil
}

// clearSession expires every session cookie the request carries (the name and its _N parts), as
// SessionStore.Clear does; a cookie the browser did not send is not cleared.
func (p *Proxy) clearSession(w http.ResponseWriter, r *http.Request) {
	for _, c := range r.Cookies() {
		if p.sessionCookieRe.MatchString(c.Name) {
			http.SetCookie(w, p.makeCookie(c.Name, "", -time.Hour, p.cfg.Now()))
		}
	}
}

func sessionCookieRegexp(name string) *regexp.Regexp {
	return regexp.MustCompile("^" + regexp.QuoteMeta(name) + `(_\d+)?$`)
}

// splitCookie mirrors pkg/sessions/cookie splitCookie: parts are filled so each Set-Cookie line is at most
// maxCookieLength characters.
func splitCookie(c *http.Cookie) []*http.Cookie {
	if len(c.String()) <= maxCookieLength {
		return []*http.Cookie{c}
	}
	var parts []*http.Cookie
	rest := c.Value
	for i := 0; rest != ""; i++ {
		part := *c
		part.Name = c.Name + "_" + strconv.Itoa(i)
		part.Value = rest
		if over := len(part.String()) - maxCookieLength; over > 0 {
			if over >= len(rest) {
				return []*http.Cookie{c} // the attributes alone exceed the limit: nothing to gain by splitting
			}
			part.Value = rest[:len(rest)-over]
		}
		rest = rest[len(part.Value):]
		parts = append(parts, &part)
	}
	return parts
}

// joinedCookie mirrors loadCookie: the cookie itself, or its _0, _1, ... parts concatenated.
func joinedCookie(r *http.Request, name string) (*http.Cookie, error) {
	if c, err := r.Cookie(name); err == nil {
		return c, nil
	}
	var b strings.Builder
	n := 0
	for ; ; n++ {
		c, err := r.Cookie(name + "_" + strconv.Itoa(n))
		if err != nil || (n == 1 && mutate.On(mutate.OAuth2ProxyFirstChunkOnly)) {
			break
		}
		b.WriteString(c.Value)
	}
	if n == 0 {
		return nil, http.ErrNoCookie
	}
	return &http.Cookie{Name: name, Value: b.String()}, nil
}

// cookiePath is cookie_path, "/" by default.
func (p *Proxy) cookiePath() string {
	if p.cfg.CookiePath == "" {
		return "/"
	}
	return p.cfg.CookiePath
}
