package components

import (
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/istiogateway"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/oauth2proxy"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// Front is the ingress gateway stand-in in front of the real Dex and oauth2-proxy, the same on the local tier (in
// the harness's process) and in a kind cluster (`kfp-authcheck gateway`): the VirtualServices route /dex/ to Dex
// and everything else through oauth2-proxy (deployKF's per-path audience rule in front of it). With mesh (a
// profile with an Istio mesh, kubeflow 1.9+) the Istio gateway stand-in (mocks/istiogateway) decides first: a
// request with an Authorization header skips oauth2-proxy and is judged by jwt_authn, its claims becoming the
// identity header, and goes to apps; oauth2-proxy's own prefix still reaches oauth2-proxy.
func Front(p *profile.Profile, dex, oauth2Proxy, apps http.Handler, mesh *istiogateway.Config) (http.Handler, error) {
	if p.Gateway == nil {
		return nil, fmt.Errorf("profile %s has no gateway", p.Name)
	}
	viaProxy := AudienceByPath(p.Gateway, oauth2Proxy)
	if mesh == nil {
		routes := http.NewServeMux()
		routes.Handle("/dex/", dex)
		routes.Handle("/", viaProxy)
		return routes, nil
	}
	return MeshFront(p, dex, func(http.Handler) http.Handler { return viaProxy }, apps, *mesh)
}

// MeshFront is the Istio gateway stand-in configured by mesh in front of Kubeflow 1.9's VirtualServices: /dex/ to
// dex, the gateway's prefix to the gateway (proxy, which guards the handler it is given), everything else to apps.
// A request with an Authorization header is judged by jwt_authn and skips the gateway; any other goes through
// proxy first. The embedded tier's front (the gateway stand-in as proxy) and Front (a real oauth2-proxy) share it.
func MeshFront(p *profile.Profile, dex http.Handler, proxy func(next http.Handler) http.Handler, apps http.Handler,
	mesh istiogateway.Config) (http.Handler, error) {
	gw, err := istiogateway.New(mesh)
	if err != nil {
		return nil, fmt.Errorf("istio gateway stand-in: %w", err)
	}
	routes := http.NewServeMux()
	routes.Handle("/dex/", dex)
	routes.Handle(p.Gateway.ProxyPrefix+"/", proxy(http.NotFoundHandler()))
	routes.Handle("/", apps)
	return gw.Handler(proxy, routes), nil
}

// GatewayConfig says where the pieces behind `kfp-authcheck gateway` answer.
type GatewayConfig struct {
	// Issuer is Dex's issuer as the browser and the tokens name it (its origin is the gateway's); Dex is Dex's own
	// address with its path (its keys are Dex+"/keys", as Kubeflow's jwksUri points in-cluster).
	Issuer, Dex string
	// OAuth2Proxy is oauth2-proxy's address (a profile with an oauth2-proxy gateway only); Apps is where
	// ml-pipeline-ui and the dashboard answer.
	OAuth2Proxy, Apps string
	// KubeAPI and KubeClient read the cluster's ServiceAccount keys (/openid/v1/jwks), for a profile with a mesh;
	// the client must carry a timeout.
	KubeAPI    string
	KubeClient *http.Client
	// Now is the mesh stand-in's clock; nil means time.Now.
	Now func() time.Time
}

// Gateway is the ingress gateway stand-in of a cluster (`kfp-authcheck gateway`, the kind tier's
// istio-ingressgateway): front is Front with the pieces reached over HTTP, apps is oauth2-proxy's upstream
// (IdentityFromGateway, then Apps). For a gateway with no real program here (oidc-authservice) the front is
// StandInFront: the project's stand-in for it, redeeming at Dex's own address, and no oauth2-proxy.
func Gateway(p *profile.Profile, c GatewayConfig) (front, apps http.Handler, err error) {
	if p.Gateway == nil || p.Dex == nil {
		return nil, nil, fmt.Errorf("profile %s has no gateway and no Dex", p.Name)
	}
	flags := []struct{ name, v string }{{"issuer", c.Issuer}, {"dex", c.Dex}, {"apps", c.Apps}}
	if p.Gateway.Kind == "oauth2-proxy" {
		flags = append(flags, struct{ name, v string }{"oauth2-proxy", c.OAuth2Proxy})
	}
	urls := map[string]*url.URL{}
	for _, f := range flags {
		u, err := url.Parse(f.v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, nil, fmt.Errorf("%s %q: want an http(s) URL", f.name, f.v)
		}
		urls[f.name] = u
	}
	appsProxy := ReverseProxy(urls["apps"])
	if p.Gateway.Kind != "oauth2-proxy" {
		origin := &url.URL{Scheme: urls["issuer"].Scheme, Host: urls["issuer"].Host}
		front, err = StandInFront(p, origin.String(), c.Issuer, c.Dex, ReverseProxy(urls["dex"]), appsProxy, nil, c.Now)
		if err != nil {
			return nil, nil, err
		}
		return front, IdentityFromGateway(p, appsProxy), nil
	}
	var mesh *istiogateway.Config
	if p.Gateway.Mesh != nil {
		if c.KubeClient == nil || c.KubeAPI == "" {
			return nil, nil, fmt.Errorf("profile %s has a mesh: its jwt_authn needs the cluster's keys", p.Name)
		}
		if c.Now == nil {
			c.Now = time.Now
		}
		m := MeshConfig(p.Gateway.Mesh, c.Issuer, strings.TrimSuffix(c.KubeAPI, "/")+"/openid/v1/jwks", c.KubeClient, c.Now)
		for i := range m.Rules {
			if m.Rules[i].Issuer == c.Issuer {
				m.Rules[i].JWKSURI = strings.TrimSuffix(c.Dex, "/") + "/keys"
			}
		}
		mesh = &m
	}
	front, err = Front(p, ReverseProxy(urls["dex"]), ReverseProxy(urls["oauth2-proxy"]), appsProxy, mesh)
	if err != nil {
		return nil, nil, err
	}
	return front, IdentityFromGateway(p, appsProxy), nil
}

// StandInFront is the gateway for a profile whose gateway has no real program here (oidc-authservice): the
// project's stand-in for it (mocks/oauth2proxy, configured from the profile as on the embedded tier) in front of
// upstream, which it gives the identity header itself, with /dex/ to dex. It redeems codes and reads keys at
// backChannel (Dex's address with its path; the issuer where the gateway reaches it, as on the local tier); tlsConf
// is what it trusts there.
func StandInFront(p *profile.Profile, gatewayURL, issuer, backChannel string, dex, upstream http.Handler, tlsConf *tls.Config,
	now func() time.Time) (http.Handler, error) {
	if now == nil {
		now = time.Now
	}
	if tlsConf == nil {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	cfg := GatewayStandInConfig(p, gatewayURL, issuer, tlsConf, now)
	cfg.RedeemURL, cfg.JWKSURL = strings.TrimSuffix(backChannel, "/")+"/token", strings.TrimSuffix(backChannel, "/")+"/keys"
	proxy, err := oauth2proxy.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("gateway stand-in: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/dex/", dex)
	mux.Handle("/", proxy.Handler(upstream))
	return mux, nil
}

// IdentityFromGateway stands in for what the mesh does between the gateway and KFP: Kubeflow's
// RequestAuthentication turns the Dex ID token oauth2-proxy injects into kubeflow-userid (email claim), deployKF's
// Lua filter copies x-auth-request-email. oauth2-proxy passes the session's email as X-Forwarded-Email (it strips
// any value the client sent), so the header is set from that; a kubeflow-userid sent by the client never gets
// through, as Istio's outputClaimToHeaders overwrites it. oauth2-proxy's upstream is this handler.
func IdentityFromGateway(p *profile.Profile, next http.Handler) http.Handler {
	header := p.KFP.UserIDHeader
	if header == "" {
		header = "kubeflow-userid"
	}
	// The broken gateway (profile option gateway.pass_client_identity_header) keeps a client's own header.
	passClient := p.Gateway != nil && p.Gateway.PassClientIdentityHeader
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if passClient && r.Header.Get(header) != "" {
			next.ServeHTTP(w, r)
			return
		}
		r.Header.Del(header)
		if email := r.Header.Get("X-Forwarded-Email"); email != "" {
			r.Header.Set(header, p.KFP.UserIDPrefix+email)
		}
		next.ServeHTTP(w, r)
	})
}

// ReverseProxy forwards to a program keeping the browser's Host, as the ingress gateway does; a program that
// does not answer its headers within 30 s is a 502.
func ReverseProxy(to *url.URL) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(to)
			r.Out.URL.Path, r.Out.URL.RawPath = r.In.URL.Path, r.In.URL.RawPath
			r.Out.Host = r.In.Host
			r.SetXForwarded()
		},
		Transport: &http.Transport{ResponseHeaderTimeout: 30 * time.Second, DisableCompression: true,
			DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext},
		ErrorLog: QuietLog(),
	}
}

// GatewayStandInConfig is the gateway stand-in's configuration for profile p with the gateway at gatewayURL and Dex at
// issuerURL: the embedded tier runs it for every profile, the local tier for oidc-authservice (no real program).
func GatewayStandInConfig(p *profile.Profile, gatewayURL, issuerURL string, tlsConf *tls.Config, now func() time.Time) oauth2proxy.Config {
	g := p.Gateway
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	c := oauth2proxy.Config{
		ProxyPrefix:            g.ProxyPrefix,
		StartPath:              g.StartPath,
		CallbackPath:           g.CallbackPath,
		RedirectURL:            RedirectURL(g, gatewayURL),
		RelativeRedirectURL:    !g.AbsoluteRedirectURL,
		OmitPrompt:             g.OmitPrompt,
		OIDCNonce:              g.OIDCNonce,
		ProviderDisplayName:    g.ProviderDisplayName,
		ClientID:               g.ClientID,
		ClientSecret:           g.ClientSecret,
		Scope:                  g.Scope,
		Prompt:                 g.Prompt,
		ApprovalPrompt:         g.ApprovalPrompt,
		CodeChallengeMethod:    g.CodeChallengeMethod,
		LoginURL:               g.LoginPath,
		RedeemURL:              issuerURL + "/token",
		JWKSURL:                issuerURL + "/keys",
		IssuerURL:              issuerURL,
		SkipProviderButton:     g.SkipProviderButton,
		APIRoutes:              g.APIRoutes,
		DetectAJAX:             g.DetectAJAX,
		CookieName:             g.CookieName,
		CookieSecure:           g.CookieSecure,
		CookieHTTPOnly:         g.CookieHTTPOnly,
		CookieSameSite:         g.CookieSameSite,
		CookiePath:             g.CookiePath,
		WhitelistDomains:       g.WhitelistDomains,
		CookieExpire:           g.CookieExpire.Duration,
		CookieSecret:           secret,
		CSRFCookieName:         g.CSRFCookieName,
		CSRFPerRequest:         g.CSRFPerRequest,
		UserIDHeader:           g.UserIDHeader,
		UserIDClaim:            g.UserIDClaim,
		PassClientUserIDHeader: g.PassClientIdentityHeader,
		SetAuthorizationHeader: g.SetAuthorizationHeader,
		SkipJWTBearerTokens:    g.SkipJWTBearerTokens,
		HTTPClient: &http.Client{Timeout: 10 * time.Second,
			Transport: &http.Transport{TLSClientConfig: tlsConf.Clone()}},
		Now: now,
	}
	if len(g.ExtraAudiencesPaths) == 0 {
		c.ExtraAudiences = g.ExtraAudiences
	} else {
		c.BearerAudiencesByPath = map[string][]string{}
		for _, prefix := range g.ExtraAudiencesPaths {
			c.BearerAudiencesByPath[prefix] = g.ExtraAudiences
		}
	}
	return c
}

// RedirectURL is the redirect_uri the gateway sends to Dex: the profile's, resolved against gatewayURL where the
// distribution configures it absolute (deployKF).
func RedirectURL(g *profile.Gateway, gatewayURL string) string {
	if g.AbsoluteRedirectURL && strings.HasPrefix(g.RedirectURL, "/") {
		return gatewayURL + g.RedirectURL
	}
	return g.RedirectURL
}
