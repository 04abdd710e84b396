// Package oauth2proxy is an in-process stand-in for oauth2-proxy v7 as Kubeflow 1.9+ and deployKF configure it,
// and, through the same options, for Kubeflow 1.8's oidc-authservice. It answers on the wire as those programs
// do (status codes, Location, cookies, sign-in and error pages) and, for authenticated requests, also plays the
// gateway's part of turning the session into the identity header the KFP API trusts.
package oauth2proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// Proxy is a configured stand-in; build it with New.
type Proxy struct {
	cfg             Config
	c               compiled
	sealer          sealer
	client          *http.Client
	verifier        *tokenVerifier
	sessionCookieRe *regexp.Regexp
	log             *slog.Logger
}

// New validates cfg, fills in defaults and returns the proxy. Errors name every offending field.
func New(cfg Config) (*Proxy, error) {
	cfg = cfg.withDefaults()
	c, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	s, err := newSealer(c.cipherKey)
	if err != nil {
		return nil, fmt.Errorf("oauth2proxy config: %w", err)
	}
	client := boundedClient(cfg.HTTPClient)
	return &Proxy{
		cfg:             cfg,
		c:               c,
		sealer:          s,
		client:          client,
		verifier:        newTokenVerifier(cfg, client),
		sessionCookieRe: sessionCookieRegexp(cfg.CookieName),
		log:             cfg.Logger.With("component", "oauth2proxy"),
	}, nil
}

// Handler serves the proxy's own endpoints and puts every other request behind authentication; authenticated
// and skip-auth requests reach upstream with the identity headers set.
func (p *Proxy) Handler(upstream http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch path := r.URL.Path; {
		case path == p.cfg.PingPath, path == p.cfg.ReadyPath:
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("OK"))
		case p.cfg.StartPath != "" && path == p.cfg.StartPath:
			p.startLogin(w, r)
		case path == p.cfg.CallbackPath:
			p.callback(w, r)
		case path == p.cfg.SignOutPath:
			p.signOut(w, r)
		case path == p.cfg.ProxyPrefix+"/sign_in":
			p.signIn(w, r)
		default:
			p.authenticate(w, r, upstream)
		}
	})
}

// authenticate mirrors the session chain (bearer, then cookie) and OAuthProxy.Proxy.
func (p *Proxy) authenticate(w http.ResponseWriter, r *http.Request, upstream http.Handler) {
	if mutate.On(mutate.OAuth2ProxyExpired500) {
		// The bug: a session cookie that no longer loads (expired, aged out) is a server error, not a new login.
		if _, err := p.loadSession(r); err != nil && !errors.Is(err, http.ErrNoCookie) {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
	}
	s, audienceRefused := p.requestSession(w, r)
	if audienceRefused {
		// The proxy would allow it; the gateway's JWT requirement for this route does not.
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("Audiences in Jwt are not allowed"))
		return
	}
	if s != nil || matchesAny(p.c.skipAuthRoutes, r.URL.RequestURI()) {
		upstream.ServeHTTP(w, p.upstreamRequest(r, s))
		return
	}
	switch {
	case p.cfg.DetectAJAX && isAJAX(r), matchesAny(p.c.apiRoutes, r.URL.RequestURI()):
		errorJSON(w, http.StatusUnauthorized)
	case p.cfg.SkipProviderButton:
		p.startLogin(w, r)
	default:
		p.signInPage(w, r, http.StatusForbidden)
	}
}

// requestSession returns the request's session: a verified bearer when SkipJWTBearerTokens, else the session
// cookie. A cookie that fails (signature, age, decryption, expiry) is cleared and counts as none.
// audienceRefused reports a bearer the proxy accepts whose audience the gateway refuses on this path.
func (p *Proxy) requestSession(w http.ResponseWriter, r *http.Request) (s *session, audienceRefused bool) {
	if p.cfg.SkipJWTBearerTokens {
		s, err := p.bearerSession(r)
		switch {
		case errors.Is(err, errAudienceNotOnPath):
			return nil, true
		case err != nil:
			p.log.Warn("error retrieving session from token in Authorization header", "err", err)
		case s != nil:
			return s, false
		}
	}
	s, err := p.loadSession(r)
	if err != nil {
		if !errors.Is(err, http.ErrNoCookie) {
			p.log.Info("error loading cookied session, removing session", "err", err)
			p.clearSession(w, r)
		}
		return nil, false
	}
	return s, false
}

// upstreamRequest is what upstream sees: client copies of the identity headers removed, and with a session the
// identity header, X-Auth-Request-* and (when configured) the ID token as bearer.
func (p *Proxy) upstreamRequest(r *http.Request, s *session) *http.Request {
	out := r.Clone(r.Context())
	for _, h := range []string{"X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Groups",
		"X-Auth-Request-Preferred-Username"} {
		out.Header.Del(h)
	}
	clientID := p.cfg.PassClientUserIDHeader && p.cfg.UserIDHeader != "" && out.Header.Get(p.cfg.UserIDHeader) != ""
	if p.cfg.UserIDHeader != "" && !clientID {
		out.Header.Del(p.cfg.UserIDHeader)
	}
	if s == nil {
		return out
	}
	setIfNotEmpty(out.Header, "X-Auth-Request-User", s.User)
	setIfNotEmpty(out.Header, "X-Auth-Request-Email", s.Email)
	setIfNotEmpty(out.Header, "X-Auth-Request-Groups", strings.Join(s.Groups, ","))
	setIfNotEmpty(out.Header, "X-Auth-Request-Preferred-Username", s.PreferredUsername)
	if p.cfg.UserIDHeader != "" && !clientID {
		if id := s.claim(p.cfg.UserIDClaim); id != "" {
			out.Header.Set(p.cfg.UserIDHeader, p.cfg.UserIDPrefix+id)
		}
	}
	if p.cfg.SetAuthorizationHeader && s.IDToken != "" {
		out.Header.Set("Authorization", "Bearer "+s.IDToken)
	}
	if own := r.Header.Get(p.cfg.UserIDHeader); own != "" && p.cfg.UserIDHeader != "" && mutate.On(mutate.OAuth2ProxyPassUserID) {
		out.Header.Set(p.cfg.UserIDHeader, own)
	}
	return out
}

func setIfNotEmpty(h http.Header, name, value string) {
	if value != "" {
		h.Set(name, value)
	}
}

// signOut mirrors OAuthProxy.SignOut: the session cookies cleared, 302 to rd (or "/").
func (p *Proxy) signOut(w http.ResponseWriter, r *http.Request) {
	prepareNoCache(w)
	rd := p.appRedirect(r)
	p.clearSession(w, r)
	http.Redirect(w, r, rd, http.StatusFound)
}

// signIn mirrors OAuthProxy.SignIn without basic auth: the start flow when the button is skipped, else the
// sign-in page with 200.
func (p *Proxy) signIn(w http.ResponseWriter, r *http.Request) {
	prepareNoCache(w)
	if p.cfg.SkipProviderButton {
		p.startLogin(w, r)
		return
	}
	p.signInPage(w, r, http.StatusOK)
}

// isAJAX mirrors oauthproxy.go isAjax: one of the Accept media types is exactly application/json.
func isAJAX(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, t := range strings.Split(v, ",") {
			if strings.TrimSpace(t) == "application/json" {
				return true
			}
		}
	}
	return false
}

func matchesAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
