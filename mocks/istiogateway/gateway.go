package istiogateway

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Envoy's jwt_authn refusals (jwt_verify_lib status strings) and the RBAC filter's denial.
const (
	MsgUnknownIssuer   = "Jwt issuer is not configured"
	MsgVerification    = "Jwt verification fails"
	MsgExpired         = "Jwt is expired"
	MsgNotYetValid     = "Jwt not yet valid"
	MsgBadFormat       = "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"
	MsgHeaderBadJSON   = "Jwt header is an invalid JSON"
	MsgPayloadBadJSON  = "Jwt payload is an invalid JSON"
	MsgKidAlgMismatch  = "Jwks doesn't have key to match kid or alg from Jwt"
	MsgAudienceDenied  = "Audiences in Jwt are not allowed"
	MsgRBACDenied      = "RBAC: access denied"
	defaultClockSkew   = 60 * time.Second // jwt_authn's default clock_skew_seconds
	defaultJWKSRefresh = time.Minute      // PILOT_JWT_PUB_KEY_REFRESH_INTERVAL as Kubeflow sets it
)

// JWTRule is one jwtRules entry of a RequestAuthentication.
type JWTRule struct {
	Issuer string
	// JWKSURI is where istiod fetches the issuer's keys (jwksUri); it is fetched with Config.HTTPClient.
	JWKSURI string
	// Audiences, when set, must intersect the token's aud (403 otherwise); Kubeflow sets none.
	Audiences []string
	// OutputClaimToHeaders maps a header to the claim copied into it on a verified token.
	OutputClaimToHeaders []ClaimToHeader
	// FromHeader and Prefix locate the token; default Authorization and "Bearer ".
	FromHeader, Prefix string
}

// ClaimToHeader is one outputClaimToHeaders entry.
type ClaimToHeader struct{ Header, Claim string }

// Config configures the gateway.
type Config struct {
	Rules []JWTRule
	// ExemptPrefixes are the notPaths of the CUSTOM and DENY policies (/dex/*, /dex/**, /oauth2/*).
	ExemptPrefixes []string
	// HTTPClient fetches JWKS; it must carry a timeout.
	HTTPClient *http.Client
	// JWKSRefresh is how long fetched keys are used before istiod fetches again; default one minute.
	JWKSRefresh time.Duration
	// Now is the clock for exp/nbf; nil means time.Now.
	Now func() time.Time
}

// Gateway is a configured stand-in; build it with New.
type Gateway struct {
	cfg   Config
	rules map[string]*rule
}

// New validates cfg and returns the gateway.
func New(cfg Config) (*Gateway, error) {
	if cfg.HTTPClient == nil || cfg.HTTPClient.Timeout == 0 {
		return nil, errors.New("istiogateway: HTTPClient with a timeout is required")
	}
	if cfg.JWKSRefresh == 0 {
		cfg.JWKSRefresh = defaultJWKSRefresh
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	g := &Gateway{cfg: cfg, rules: map[string]*rule{}}
	for i, r := range cfg.Rules {
		if r.Issuer == "" || r.JWKSURI == "" {
			return nil, fmt.Errorf("istiogateway: jwtRules[%d] needs issuer and jwksUri", i)
		}
		if _, dup := g.rules[r.Issuer]; dup {
			return nil, fmt.Errorf("istiogateway: jwtRules[%d]: issuer %s configured twice", i, r.Issuer)
		}
		if r.FromHeader == "" {
			r.FromHeader = "Authorization"
		}
		if r.Prefix == "" {
			r.Prefix = "Bearer "
		}
		g.rules[r.Issuer] = &rule{JWTRule: r, keys: &keyCache{uri: r.JWKSURI, client: cfg.HTTPClient,
			refresh: cfg.JWKSRefresh, now: cfg.Now}}
	}
	return g, nil
}

// Handler is the ingress gateway's filter chain in Istio's order (ext_authz, jwt_authn, RBAC) in front of routes
// (the VirtualServices). extAuthz wraps the rest of the chain as the CUSTOM provider does: it answers a request
// it denies itself and passes an allowed one on with the headers it adds (oauth2-proxy: Authorization with the
// Dex ID token).
func (g *Gateway) Handler(extAuthz func(next http.Handler) http.Handler, routes http.Handler) http.Handler {
	afterAuthz := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.authenticate(w, r, routes) })
	withAuthz := extAuthz(afterAuthz)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// istio-ingressgateway-oauth2-proxy: when request.headers[authorization] notValues ["*"].
		if len(r.Header.Values("Authorization")) > 0 || g.exempt(r.URL.Path) {
			afterAuthz.ServeHTTP(w, r)
			return
		}
		withAuthz.ServeHTTP(w, r)
	})
}

func (g *Gateway) exempt(path string) bool {
	for _, p := range g.cfg.ExemptPrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// authenticate is jwt_authn (the RequestAuthentications) then the DENY policy, then routes.
func (g *Gateway) authenticate(w http.ResponseWriter, r *http.Request, routes http.Handler) {
	principal, headers, status, msg := g.verifyRequest(r)
	if msg != "" {
		realm := "http://" + r.Host + r.URL.Path
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer realm=%q, error=\"invalid_token\"", realm))
		writePlain(w, status, msg)
		return
	}
	// istio-ingressgateway-require-jwt: DENY notRequestPrincipals ["*"] outside the exempt paths.
	if principal == "" && !g.exempt(r.URL.Path) {
		writePlain(w, http.StatusForbidden, MsgRBACDenied)
		return
	}
	out := r
	if len(headers) > 0 {
		out = r.Clone(r.Context())
		for _, h := range headers {
			out.Header.Set(h.name, h.value)
		}
	}
	routes.ServeHTTP(w, out)
}

// writePlain is Envoy's local reply: text/plain, the message without a newline.
func writePlain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Server", "envoy")
	w.Header().Set("Content-Length", fmt.Sprint(len(msg)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}

type header struct{ name, value string }
