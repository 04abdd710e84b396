package oauth2proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Config describes one oauth2-proxy (or oidc-authservice) deployment. Every difference between the programs and
// distributions is a field here; the proxy has no per-distribution branches. Field comments name the oauth2-proxy
// option each one mirrors.
type Config struct {
	// ProxyPrefix is proxy_prefix: "/oauth2" (authservice: "/authservice").
	ProxyPrefix string
	// StartPath is where the login flow starts, "/oauth2/start"; "" means the program has no start endpoint
	// (authservice).
	StartPath string
	// CallbackPath is the OAuth2 redirect endpoint: "/oauth2/callback" or "/authservice/oidc/callback".
	CallbackPath string
	// SignOutPath clears the session; default ProxyPrefix+"/sign_out".
	SignOutPath string
	// RedirectURL is redirect_url, the redirect_uri sent to Dex: relative ("/oauth2/callback") or absolute.
	RedirectURL string
	// RelativeRedirectURL is relative_redirect_url: a relative RedirectURL is sent to Dex as is, both in the
	// login URL and at the token endpoint (Kubeflow sets it, and Dex compares the two strings). When false, a
	// relative RedirectURL is resolved against the request's host (https when CookieSecure), as oauth2-proxy does.
	RelativeRedirectURL bool

	// ClientID and ClientSecret identify the proxy at Dex; Scope is sent verbatim.
	ClientID, ClientSecret, Scope string
	// Prompt and ApprovalPrompt mirror prompt/approval_prompt: Prompt set sends prompt=<v>; otherwise
	// approval_prompt=<ApprovalPrompt, default "force"> is sent, which makes Dex show its approval screen.
	Prompt, ApprovalPrompt string
	// OmitPrompt sends neither prompt nor approval_prompt (oidc-authservice builds its URL with
	// golang.org/x/oauth2 AuthCodeURL, which adds neither).
	OmitPrompt bool
	// CodeChallengeMethod is code_challenge_method: "S256", "plain" or "" (no PKCE).
	CodeChallengeMethod string
	// OIDCNonce is the inverse of insecure_oidc_skip_nonce (whose default is true): send a nonce in the login URL
	// and require it in the ID token. deployKF sets it.
	OIDCNonce bool

	// LoginURL is login_url, where browsers are sent: "/dex/auth" (relative to the gateway) or absolute.
	LoginURL string
	// RedeemURL is redeem_url, the absolute URL of Dex's /token, called server-side.
	RedeemURL string
	// JWKSURL is oidc_jwks_url, the absolute URL of Dex's /keys.
	JWKSURL string
	// IssuerURL is oidc_issuer_url, the iss every ID token must carry.
	IssuerURL string
	// ProviderDisplayName is provider_display_name, shown on the sign-in button; default "Dex".
	ProviderDisplayName string

	// SkipProviderButton is skip_provider_button: true sends unauthenticated browser requests straight to Dex
	// (302); false answers 403 with the sign-in page.
	SkipProviderButton bool
	// APIRoutes is api_routes: regexes on the request URI whose unauthenticated requests get 401 {}.
	APIRoutes []string
	// SkipAuthRoutes is skip_auth_routes: regexes on the request URI passed upstream without authentication
	// (Kubeflow: "^/dex/").
	SkipAuthRoutes []string
	// DetectAJAX makes a request whose Accept header lists application/json get 401 {} (oauth2-proxy always does
	// this; it is an option because Kubeflow's Istio does not forward Accept, and authservice never does it).
	DetectAJAX bool

	// CookieName is cookie_name; the session cookie, and the CSRF cookie's stem.
	CookieName string
	// CookieSecure, CookieHTTPOnly and CookieSameSite ("", "lax", "strict", "none") are the cookie flags.
	CookieSecure, CookieHTTPOnly bool
	CookieSameSite               string
	// CookiePath is cookie_path, the Path of every cookie it sets; "" means "/".
	CookiePath string
	// WhitelistDomains is whitelist_domains: the hosts (".domain" for subdomains, ":port" or ":*") an absolute rd
	// may send the browser to after the login or sign-out; none by default, so only local paths.
	WhitelistDomains []string
	// CookieExpire is cookie_expire: the session cookie's Expires and the oldest signature timestamp accepted;
	// default 168h as in oauth2-proxy.
	CookieExpire time.Duration
	// CookieSecret is cookie_secret as configured (a string's bytes). As in oauth2-proxy it is base64-decoded
	// when that yields 16, 24 or 32 bytes, else used raw; the AES key must be 16, 24 or 32 bytes. Signatures are
	// keyed with the secret as configured.
	CookieSecret []byte
	// CSRFCookieName overrides the CSRF cookie name; "" = CookieName+"_csrf" (authservice: "oidc_state_csrf").
	CSRFCookieName string
	// CSRFPerRequest is cookie_csrf_per_request: the CSRF cookie is named
	// <CookieName>_<first 8 characters of the hashed state>_csrf (CSRFCookieName is then unused).
	CSRFPerRequest bool
	// CSRFExpire is cookie_csrf_expire; default 15m.
	CSRFExpire time.Duration

	// UserIDHeader is the identity header upstream trusts ("kubeflow-userid"); clients' copies are always
	// removed. UserIDClaim names its source: email, user, preferred_username or any string claim of the ID
	// token; default "email". UserIDPrefix is prepended (authservice USERID_PREFIX).
	UserIDHeader, UserIDClaim, UserIDPrefix string
	// PassClientUserIDHeader plays a misconfigured gateway: a UserIDHeader the client sent reaches upstream
	// unchanged, and the session's identity is set only where the client sent none (profile option
	// gateway.pass_client_identity_header).
	PassClientUserIDHeader bool
	// SetAuthorizationHeader is set_authorization_header: upstream gets "Authorization: Bearer <id_token>".
	SetAuthorizationHeader bool

	// SkipJWTBearerTokens is skip_jwt_bearer_tokens: an "Authorization: Bearer <jwt>" verified against the JWKS
	// (iss, exp, RS256) is a session of its own when its aud is ClientID or one of ExtraAudiences
	// (oidc_extra_audiences). Any other bearer is logged and ignored, as pkg/middleware/jwt_session.go does.
	SkipJWTBearerTokens bool
	ExtraAudiences      []string
	// BearerAudiencesByPath models a gateway JWT requirement layered after the proxy, as deployKF's Envoy
	// jwt_authn does: a bearer whose aud is listed here is accepted by the proxy on every path (it is one of
	// oauth2-proxy's oidc_extra_audiences), but only on request paths starting with the key (a plain string
	// prefix, as an Istio prefix match); elsewhere the request is refused with 403 text/plain
	// "Audiences in Jwt are not allowed", Envoy jwt_authn's answer. deployKF: {"/pipeline":
	// ["kubeflow-pipelines-sdk"]} with ClientID "oauth2-proxy".
	BearerAudiencesByPath map[string][]string

	// PingPath and ReadyPath answer 200 OK; defaults "/ping" and "/ready".
	PingPath, ReadyPath string

	// HTTPClient is used for redeem and JWKS (TLS roots, timeouts); default one with a 10 s timeout. Response
	// bodies read through it are capped at 1 MiB.
	HTTPClient *http.Client
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives what oauth2-proxy would log (never secrets); default discards.
	Logger *slog.Logger
}

const (
	defaultCookieExpire = 168 * time.Hour
	defaultCSRFExpire   = 15 * time.Minute
	defaultHTTPTimeout  = 10 * time.Second
)

// compiled holds the parts of a Config that New derives once.
type compiled struct {
	loginURL       *url.URL
	redirectURL    *url.URL
	apiRoutes      []*regexp.Regexp
	skipAuthRoutes []*regexp.Regexp
	sameSite       http.SameSite
	cipherKey      []byte
}

// withDefaults returns cfg with every unset optional field filled in.
func (cfg Config) withDefaults() Config {
	if cfg.SignOutPath == "" {
		cfg.SignOutPath = cfg.ProxyPrefix + "/sign_out"
	}
	if cfg.ProviderDisplayName == "" {
		cfg.ProviderDisplayName = "Dex"
	}
	if cfg.CookieExpire == 0 {
		cfg.CookieExpire = defaultCookieExpire
	}
	if cfg.CSRFExpire == 0 {
		cfg.CSRFExpire = defaultCSRFExpire
	}
	if cfg.CSRFCookieName == "" {
		cfg.CSRFCookieName = cfg.CookieName + "_csrf"
	}
	if cfg.UserIDClaim == "" {
		cfg.UserIDClaim = "email"
	}
	if cfg.PingPath == "" {
		cfg.PingPath = "/ping"
	}
	if cfg.ReadyPath == "" {
		cfg.ReadyPath = "/ready"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// validate checks cfg (after defaults) and compiles what it can; every problem is reported, not just the first.
func (cfg Config) validate() (compiled, error) {
	var c compiled
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if !strings.HasPrefix(cfg.ProxyPrefix, "/") || strings.HasSuffix(cfg.ProxyPrefix, "/") {
		bad("ProxyPrefix %q must start with / and not end with /", cfg.ProxyPrefix)
	}
	for name, p := range map[string]string{"CallbackPath": cfg.CallbackPath, "SignOutPath": cfg.SignOutPath,
		"PingPath": cfg.PingPath, "ReadyPath": cfg.ReadyPath} {
		if !strings.HasPrefix(p, "/") {
			bad("%s %q must be a path starting with /", name, p)
		}
	}
	if cfg.StartPath != "" && !strings.HasPrefix(cfg.StartPath, "/") {
		bad("StartPath %q must be empty or a path starting with /", cfg.StartPath)
	}
	if cfg.ClientID == "" {
		bad("ClientID is required")
	}
	switch cfg.CodeChallengeMethod {
	case "", "S256", "plain":
	default:
		bad("CodeChallengeMethod %q: want S256, plain or empty", cfg.CodeChallengeMethod)
	}

	var err error
	if c.redirectURL, err = url.Parse(cfg.RedirectURL); err != nil || cfg.RedirectURL == "" {
		bad("RedirectURL %q: must be a relative or absolute URL", cfg.RedirectURL)
	}
	if c.loginURL, err = url.Parse(cfg.LoginURL); err != nil || cfg.LoginURL == "" {
		bad("LoginURL %q: must be a relative or absolute URL", cfg.LoginURL)
	}
	for name, u := range map[string]string{"RedeemURL": cfg.RedeemURL, "JWKSURL": cfg.JWKSURL, "IssuerURL": cfg.IssuerURL} {
		if parsed, err := url.Parse(u); err != nil || parsed.Host == "" || (parsed.Scheme != "http" && parsed.Scheme != "https") {
			bad("%s %q: must be an absolute http(s) URL", name, u)
		}
	}

	if cfg.CookieName == "" || !validCookieName(cfg.CookieName) {
		bad("CookieName %q: must be a non-empty cookie token", cfg.CookieName)
	}
	if !validCookieName(cfg.CSRFCookieName) {
		bad("CSRFCookieName %q: must be a cookie token", cfg.CSRFCookieName)
	}
	if c.sameSite, err = parseSameSite(cfg.CookieSameSite); err != nil {
		errs = append(errs, err)
	}
	if cfg.CookieExpire < 0 || cfg.CSRFExpire < 0 {
		bad("CookieExpire and CSRFExpire must not be negative")
	}
	c.cipherKey = secretBytes(cfg.CookieSecret)
	if n := len(c.cipherKey); n != 16 && n != 24 && n != 32 {
		bad("CookieSecret must be 16, 24 or 32 bytes, or base64 of that many (got %d bytes)", n)
	}
	if c.apiRoutes, err = compileAll("APIRoutes", cfg.APIRoutes); err != nil {
		errs = append(errs, err)
	}
	if c.skipAuthRoutes, err = compileAll("SkipAuthRoutes", cfg.SkipAuthRoutes); err != nil {
		errs = append(errs, err)
	}
	for prefix := range cfg.BearerAudiencesByPath {
		if !strings.HasPrefix(prefix, "/") {
			bad("BearerAudiencesByPath key %q must be a path starting with /", prefix)
		}
	}
	if len(errs) > 0 {
		return compiled{}, fmt.Errorf("oauth2proxy config: %w", errors.Join(errs...))
	}
	return c, nil
}

func compileAll(field string, patterns []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(patterns))
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", field, p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// parseSameSite mirrors pkg/cookies ParseSameSite, with an error where oauth2-proxy panics.
func parseSameSite(v string) (http.SameSite, error) {
	switch v {
	case "lax":
		return http.SameSiteLaxMode, nil
	case "strict":
		return http.SameSiteStrictMode, nil
	case "none":
		return http.SameSiteNoneMode, nil
	case "":
		return 0, nil
	default:
		return 0, fmt.Errorf("CookieSameSite %q: want lax, strict, none or empty", v)
	}
}

func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return true
}
