// Package embedded starts a whole KFP auth stack in-process for one profile: the Dex stand-in, the gateway
// stand-in (oauth2-proxy or oidc-authservice as the profile configures it), the KFP API stand-in behind it and an
// in-cluster API address, all on loopback ports chosen by the kernel. It yields the same Target as every other
// tier, and the description `kfp-authcheck serve` prints.
package embedded

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
	"github.com/kfp-authcheck/kfp-authcheck/internal/selfca"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/dex"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/istiogateway"
	kfpmock "github.com/kfp-authcheck/kfp-authcheck/mocks/kfpapi"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/kube"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/ldapserver"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/oauth2proxy"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// Options tune a stack.
type Options struct {
	// Listen is the gateway's listen address; default 127.0.0.1:0 (a free port).
	Listen string
	// Passwords overrides the profile's passwords by email (tests use canary passwords).
	Passwords map[string]string
	// Dir receives the files the stack writes (the CA bundle); default a new temporary directory, removed on Close.
	Dir string
	// LDAPURL is the directory behind Dex's ldap connector (ldap://host:port, loaded with
	// fixtures/ldap/directory.ldif, e.g. a slapd); default KFP_AUTHCHECK_LDAP_URL, else an in-process LDAP
	// server started with the stack.
	LDAPURL string
}

// LDAPURLEnv names the environment variable that points every embedded stack's Dex at an LDAP server.
const LDAPURLEnv = "KFP_AUTHCHECK_LDAP_URL"

// Stack is a running embedded stack.
type Stack struct {
	Profile         *profile.Profile
	GatewayURL      string
	PipelineURL     string
	IssuerURL       string
	InClusterAPIURL string
	// InClusterUIURL is ml-pipeline-ui:80 as pods reach it, where the profile models its policy; else "".
	InClusterUIURL string
	DexGRPCAddr    string
	CAFile         string
	// LDAPURL is the directory Dex's ldap connector uses, "" when the profile has none.
	LDAPURL string
	Users   []profile.User
	Clock   *Clock
	// Kube is the Kubernetes stand-in (multi-user profiles only) and Kubeconfig the admin kubeconfig for it.
	Kube       *kube.Server
	Kubeconfig string
	kubeClient kubernetes.Interface

	tlsConfig *tls.Config
	closers   []func() error
	ownDir    string
}

// Start brings the stack up and provisions Dex through its gRPC API. On any error everything started so far is
// stopped again.
func Start(ctx context.Context, p *profile.Profile, opts Options) (s *Stack, err error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	started := &Stack{Profile: p, Clock: &Clock{}, tlsConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	s = started
	defer func() {
		if err != nil {
			started.Close() // s is already nil here: the return statement set it
		}
	}()
	if err := s.prepareDir(opts.Dir); err != nil {
		return nil, err
	}
	s.Users = UsersWithPasswords(p.Users, opts.Passwords)

	listen := opts.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	gwLis, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("gateway listen %s: %w", listen, err)
	}
	var serverTLS *tls.Config
	scheme := "http"
	if p.HTTPS {
		scheme = "https"
		ca, err := selfca.New()
		if err != nil {
			gwLis.Close()
			return nil, err
		}
		s.CAFile = filepath.Join(s.dir(opts.Dir), "ca.pem")
		if err := os.WriteFile(s.CAFile, ca.CAPEM, 0o644); err != nil {
			gwLis.Close()
			return nil, fmt.Errorf("write CA bundle: %w", err)
		}
		s.tlsConfig.RootCAs = ca.Pool
		serverTLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{ca.Server}}
	}
	s.GatewayURL = scheme + "://" + gwLis.Addr().String()
	s.PipelineURL = s.GatewayURL + "/pipeline"
	s.IssuerURL = s.GatewayURL + "/dex"

	kfpCfg := KFPStandInConfig(p, "embedded")
	kfpCfg.Now = s.Clock.Now
	if p.MultiUser {
		if err := s.startKube(ctx, p, opts.Dir); err != nil {
			gwLis.Close()
			return nil, err
		}
		// The API server authenticates bearer tokens with TokenReview and authorizes with SubjectAccessReview
		// against the cluster, where the Profiles are RBAC.
		kfpCfg.Authorizer = kfpmock.KubeAuthorizer{Client: s.kubeClient}
		kfpCfg.TokenReviewer = kfpmock.KubeTokenReviewer{Client: s.kubeClient}
	}
	kfp, err := kfpmock.New(kfpCfg)
	if err != nil {
		gwLis.Close()
		return nil, fmt.Errorf("kfp api stand-in: %w", err)
	}
	if err := s.serveInCluster(kfp); err != nil {
		gwLis.Close()
		return nil, err
	}

	mux := http.NewServeMux()
	upstream := Upstream(kfp)
	if p.Gateway == nil {
		mux.Handle("/", upstream)
	} else {
		d, err := s.startDex(ctx, p, opts)
		if err != nil {
			gwLis.Close()
			return nil, err
		}
		proxy, err := oauth2proxy.New(GatewayConfig(p, s.GatewayURL, s.IssuerURL, s.tlsConfig, s.Clock.Now))
		if err != nil {
			gwLis.Close()
			return nil, fmt.Errorf("gateway stand-in: %w", err)
		}
		if p.Gateway.Mesh == nil {
			mux.Handle("/dex/", d)
			mux.Handle("/", proxy.Handler(upstream))
		} else {
			gw, err := istiogateway.New(MeshConfig(p.Gateway.Mesh, s.IssuerURL, s.kubeJWKSURL(),
				s.meshHTTPClient(), s.Clock.Now))
			if err != nil {
				gwLis.Close()
				return nil, fmt.Errorf("istio gateway stand-in: %w", err)
			}
			// The VirtualServices: /dex/ to Dex, /oauth2/ to oauth2-proxy, everything else to the apps.
			routes := http.NewServeMux()
			routes.Handle("/dex/", d)
			routes.Handle(p.Gateway.ProxyPrefix+"/", proxy.Handler(http.NotFoundHandler()))
			routes.Handle("/", upstream)
			mux.Handle("/", gw.Handler(proxy.Handler, routes))
		}
	}
	s.serve(gwLis, mux, serverTLS)
	if _, err := target.New(s.Description(), s.Handles()); err != nil {
		return nil, fmt.Errorf("the stack's target: %w", err)
	}
	return s, nil
}

// startKube starts the Kubernetes stand-in on the stack's clock, writes its kubeconfig (0600) and applies the
// profile's RBAC through client-go as on any cluster (ApplyProfileRBAC).
func (s *Stack) startKube(ctx context.Context, p *profile.Profile, dir string) error {
	k, err := kube.New(kube.Config{Now: s.Clock.Now})
	if err != nil {
		return err
	}
	if err := k.Start("127.0.0.1:0"); err != nil {
		return err
	}
	s.closers = append(s.closers, k.Close)
	s.Kube = k
	s.Kubeconfig = filepath.Join(s.dir(dir), "kubeconfig")
	if err := k.WriteKubeconfig(s.Kubeconfig); err != nil {
		return err
	}
	client, err := target.KubeClientUnthrottled(s.Kubeconfig, "", 15*time.Second)
	if err != nil {
		return err
	}
	s.kubeClient = client
	return ApplyProfileRBAC(ctx, client, p)
}

// ApplyProfileRBAC applies, through client-go, the Kubeflow and KFP ClusterRoles and each Kubeflow Profile of p
// as RBAC (namespace, default-editor and default-viewer, namespaceAdmin for the owner, a kubeflow-edit
// RoleBinding per contributor as KFAM makes it): the same fixtures for the Kubernetes stand-in and a real
// kube-apiserver. They live as long as the cluster (no cleanup).
func ApplyProfileRBAC(ctx context.Context, client kubernetes.Interface, p *profile.Profile) error {
	fx := fixtures.NewKube(client)
	if err := fx.Apply(ctx, fixtures.KubeflowRoles, nil); err != nil {
		return err
	}
	for _, ns := range p.KFP.Namespaces {
		if err := fx.Profile(ctx, ns.Name, ns.Owner); err != nil {
			return err
		}
		for _, c := range ns.Contributors {
			if err := fx.Contributor(ctx, ns.Name, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// startDex starts the Dex stand-in and its gRPC API, then provisions users and clients through that API.
func (s *Stack) startDex(ctx context.Context, p *profile.Profile, opts Options) (*dex.Server, error) {
	var conns []dex.ConnectorConfig
	for _, c := range p.Dex.Connectors {
		conns = append(conns, dex.ConnectorConfig{ID: c.ID, Name: c.Name, Type: c.Type})
	}
	d, err := dex.New(dex.Config{
		Issuer:             s.IssuerURL,
		Connectors:         conns,
		SkipApprovalScreen: p.Dex.SkipApprovalScreen,
		AlwaysShowLogin:    p.Dex.AlwaysShowLogin,
		IDTokenTTL:         p.Dex.IDTokenTTL.Duration,
		RefreshTokens: dex.RefreshPolicy{ReuseInterval: p.Dex.RefreshReuseInterval.Duration,
			ValidIfNotUsedFor: p.Dex.RefreshIdle.Duration, AbsoluteLifetime: p.Dex.RefreshAbsolute.Duration},
		ResponseTypes: p.Dex.ResponseTypes,
		Version:       p.Dex.Version,
		Now:           s.Clock.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("dex stand-in: %w", err)
	}
	if err := s.wireLDAP(p, d, opts); err != nil {
		return nil, err
	}
	addr, stop, err := d.StartGRPC("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dex gRPC: %w", err)
	}
	s.closers = append(s.closers, func() error { stop(); return nil })
	s.DexGRPCAddr = addr
	if err := fixtures.ProvisionDex(ctx, addr, dexUsers(s.Users), DexClients(p, s.GatewayURL)); err != nil {
		return nil, err
	}
	return d, nil
}

// wireLDAP plugs Dex's ldap connector in for every connector of type ldap, against opts.LDAPURL, the
// environment's KFP_AUTHCHECK_LDAP_URL, or an in-process LDAP server with the fixture directory.
func (s *Stack) wireLDAP(p *profile.Profile, d *dex.Server, opts Options) error {
	for _, c := range p.Dex.Connectors {
		if c.Type != "ldap" {
			continue
		}
		if s.LDAPURL == "" {
			if err := s.ldapServer(opts); err != nil {
				return err
			}
		}
		l := p.Dex.LDAP
		cfg := dex.LDAPConfig{
			BindDN: l.BindDN, BindPW: l.BindPW, UsernamePrompt: l.UsernamePrompt, Timeout: l.Timeout.Duration,
			UserSearch: dex.LDAPUserSearch{BaseDN: l.UserSearch.BaseDN, Filter: l.UserSearch.Filter,
				Username: l.UserSearch.Username, Scope: l.UserSearch.Scope, IDAttr: l.UserSearch.IDAttr,
				EmailAttr: l.UserSearch.EmailAttr, NameAttr: l.UserSearch.NameAttr,
				PreferredUsernameAttr: l.UserSearch.PreferredUsernameAttr},
			GroupSearch: dex.LDAPGroupSearch{BaseDN: l.GroupSearch.BaseDN, Filter: l.GroupSearch.Filter,
				Scope: l.GroupSearch.Scope, NameAttr: l.GroupSearch.NameAttr},
		}
		for _, m := range l.GroupSearch.UserMatchers {
			cfg.GroupSearch.UserMatchers = append(cfg.GroupSearch.UserMatchers, dex.LDAPUserMatcher{UserAttr: m.UserAttr, GroupAttr: m.GroupAttr})
		}
		if err := cfg.SetURL(s.LDAPURL); err != nil {
			return err
		}
		conn, err := dex.NewLDAPConnector(c.ID, cfg)
		if err != nil {
			return fmt.Errorf("dex ldap connector %s: %w", c.ID, err)
		}
		if err := d.RegisterConnector(c.ID, c.Name, conn); err != nil {
			return err
		}
	}
	return nil
}

// ldapServer sets s.LDAPURL: the given URL, the environment's, or a new in-process server (stopped on Close).
func (s *Stack) ldapServer(opts Options) error {
	s.LDAPURL = opts.LDAPURL
	if s.LDAPURL == "" {
		s.LDAPURL = os.Getenv(LDAPURLEnv)
	}
	if s.LDAPURL != "" {
		return nil
	}
	srv, err := ldapserver.StartLDIF(fixtures.DirectoryLDIF)
	if err != nil {
		return fmt.Errorf("fixture directory: %w", err)
	}
	s.closers = append(s.closers, srv.Close)
	s.LDAPURL = srv.URL()
	return nil
}

// GatewayConfig is the gateway stand-in's configuration for profile p with the gateway at gatewayURL and Dex at
// issuerURL: the embedded tier runs it for every profile, the local tier for oidc-authservice (no real program).
func GatewayConfig(p *profile.Profile, gatewayURL, issuerURL string, tlsConf *tls.Config, now func() time.Time) oauth2proxy.Config {
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

// MeshConfig is the Istio gateway stand-in's configuration for a profile's mesh: the Dex rule's keys at
// issuerURL/keys, every other issuer's at kubeJWKSURL (the cluster's /openid/v1/jwks, which Kubeflow's
// cluster-jwks-proxy serves to istiod).
func MeshConfig(m *profile.Mesh, issuerURL, kubeJWKSURL string, client *http.Client, now func() time.Time) istiogateway.Config {
	c := istiogateway.Config{ExemptPrefixes: m.ExemptPrefixes, HTTPClient: client, Now: now}
	for _, r := range m.JWTRules {
		rule := istiogateway.JWTRule{Issuer: r.Issuer, JWKSURI: kubeJWKSURL}
		if r.Issuer == profile.DexIssuer {
			rule.Issuer, rule.JWKSURI = issuerURL, issuerURL+"/keys"
		}
		for _, h := range r.ClaimToHeaders {
			rule.OutputClaimToHeaders = append(rule.OutputClaimToHeaders, istiogateway.ClaimToHeader{Header: h.Header, Claim: h.Claim})
		}
		c.Rules = append(c.Rules, rule)
	}
	return c
}

// kubeJWKSURL is the Kubernetes stand-in's key set, or "" without one (a rule for it then never verifies).
func (s *Stack) kubeJWKSURL() string {
	if s.Kube == nil {
		return ""
	}
	return s.Kube.URL() + "/openid/v1/jwks"
}

// meshHTTPClient fetches key sets as istiod does: it trusts the stack's CA (Dex over https) and the cluster's.
func (s *Stack) meshHTTPClient() *http.Client {
	conf := s.tlsConfig.Clone()
	pool := x509.NewCertPool()
	if conf.RootCAs != nil {
		pool = conf.RootCAs.Clone()
	}
	if s.Kube != nil {
		pool.AppendCertsFromPEM(s.Kube.CAPEM())
	}
	conf.RootCAs = pool
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: conf}}
}

// RedirectURL is the redirect_uri the gateway sends to Dex: the profile's, resolved against gatewayURL where the
// distribution configures it absolute (deployKF).
func RedirectURL(g *profile.Gateway, gatewayURL string) string {
	if g.AbsoluteRedirectURL && strings.HasPrefix(g.RedirectURL, "/") {
		return gatewayURL + g.RedirectURL
	}
	return g.RedirectURL
}

// DexClients are the OAuth2 clients Dex holds for profile p: the gateway's own, then the profile's others.
func DexClients(p *profile.Profile, gatewayURL string) []fixtures.DexClient {
	g := p.Gateway
	out := []fixtures.DexClient{{ID: g.ClientID, Name: "Dex Login Application", Secret: g.ClientSecret,
		RedirectURIs: []string{RedirectURL(g, gatewayURL)}}}
	for _, c := range p.Dex.Clients {
		out = append(out, fixtures.DexClient{ID: c.ID, Name: c.Name, Secret: c.Secret, Public: c.Public, RedirectURIs: c.RedirectURIs})
	}
	return out
}

// serveInCluster serves the KFP API on its own port, as ml-pipeline:8888 is reached inside the cluster, behind
// a stand-in for Kubeflow's Istio policy on ml-pipeline: a request that carries the identity header and did not
// come through the gateway is refused (kubeflow#6702).
func (s *Stack) serveInCluster(kfp *kfpmock.Server) error {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("in-cluster API listen: %w", err)
	}
	s.InClusterAPIURL = "http://" + lis.Addr().String()
	s.serve(lis, InClusterHandler(s.Profile, kfp), nil)
	if s.Profile.KFP.UIPolicy == "" {
		return nil
	}
	ui, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("in-cluster UI listen: %w", err)
	}
	s.InClusterUIURL = "http://" + ui.Addr().String()
	s.serve(ui, InClusterUIHandler(s.Profile, kfp.UIHandler()), nil)
	return nil
}

// InClusterUIHandler is ml-pipeline-ui:80 as pods reach it, behind a stand-in for Kubeflow's Istio
// AuthorizationPolicy on it (WIRE-FACTS.md 1.3): with "authorization-without-userid" (1.9+) a request passes when
// it carries an Authorization header and no identity header; with "gateway-only" (1.8) none does, since only the
// ingress gateway's namespace is allowed. A refused request gets Envoy's 403 "RBAC: access denied". The UI passes
// /apis/ on to the API with the caller's headers.
func InClusterUIHandler(p *profile.Profile, ui http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allowed := false
		if p.KFP.UIPolicy == "authorization-without-userid" {
			allowed = r.Header.Get("Authorization") != "" && (p.KFP.UserIDHeader == "" || r.Header.Get(p.KFP.UserIDHeader) == "")
		}
		if !allowed {
			envoyDenied(w)
			return
		}
		ui.ServeHTTP(w, r)
	})
}

// envoyDenied is Envoy's answer when an Istio AuthorizationPolicy denies a request.
func envoyDenied(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte("RBAC: access denied"))
}

// InClusterHandler is the KFP API as ml-pipeline:8888 answers inside the cluster, behind a stand-in for
// Kubeflow's Istio policy on ml-pipeline: a request that carries the identity header and did not come through
// the gateway is refused (kubeflow#6702).
func InClusterHandler(p *profile.Profile, kfp *kfpmock.Server) http.Handler {
	return IstioPolicyStandIn(p, kfp.APIHandler())
}

// KFPStandInConfig is the KFP API stand-in's configuration for profile p (who it trusts, how it answers, which
// fixes of later KFP releases it has), reporting commit as its commit_sha; the caller adds how it authenticates
// and authorizes.
func KFPStandInConfig(p *profile.Profile, commit string) kfpmock.Config {
	return kfpmock.Config{
		MultiUser: p.MultiUser, UserIDHeader: p.KFP.UserIDHeader, UserIDPrefix: p.KFP.UserIDPrefix,
		ErrorFormat: p.KFP.ErrorFormat, TagName: p.KFP.Version, CommitSHA: commit,
		AuthorizePipelineReferences: p.KFP.AuthorizePipelineReferences,
		AuthorizeServiceAccounts:    p.KFP.AuthorizeServiceAccounts,
		AllowedServiceAccounts:      p.KFP.AllowedServiceAccounts,
	}
}

// InClusterKFP is the KFP API stand-in of profile p as ml-pipeline answers in a cluster whose API kube is: bearer
// tokens through TokenReviews, every request through SubjectAccessReviews (multi-user profiles), behind the Istio
// policy stand-in unless noMesh. `kfp-authcheck kfp-standin` serves it; the kind tier runs that in a pod.
func InClusterKFP(p *profile.Profile, kube kubernetes.Interface, noMesh bool, commit string) (http.Handler, error) {
	kfp, err := NewInClusterKFP(p, kube, commit)
	if err != nil {
		return nil, err
	}
	if noMesh {
		return kfp.APIHandler(), nil
	}
	return InClusterHandler(p, kfp), nil
}

// NewInClusterKFP is the KFP API stand-in of profile p that authenticates and authorizes against kube (a
// multi-user profile's TokenReviews and SubjectAccessReviews), for the handlers a cluster serves it through.
func NewInClusterKFP(p *profile.Profile, kube kubernetes.Interface, commit string) (*kfpmock.Server, error) {
	cfg := KFPStandInConfig(p, commit)
	if p.MultiUser {
		cfg.Authorizer, cfg.TokenReviewer = kfpmock.KubeAuthorizer{Client: kube}, kfpmock.KubeTokenReviewer{Client: kube}
	}
	return kfpmock.New(cfg)
}

// IstioPolicyStandIn stands in for Kubeflow 1.9's Istio AuthorizationPolicy on ml-pipeline in front of api (the
// stand-in or the real KFP API server): a request that carries the identity header and did not come through the
// gateway gets Envoy's 403 "RBAC: access denied". The KFP API server itself trusts the header from anyone.
func IstioPolicyStandIn(p *profile.Profile, api http.Handler) http.Handler {
	header := p.KFP.UserIDHeader
	if !p.MultiUser || header == "" {
		return api
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(header) != "" {
			envoyDenied(w)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// Upstream is what the gateway guards: the pipeline UI (and the API through it) under /pipeline, and a stand-in
// for the central dashboard everywhere else.
func Upstream(kfp *kfpmock.Server) *http.ServeMux {
	upstream := http.NewServeMux()
	upstream.Handle("/pipeline/", http.StripPrefix("/pipeline", kfp.UIHandler()))
	upstream.Handle("/pipeline", http.RedirectHandler("/pipeline/", http.StatusMovedPermanently))
	upstream.HandleFunc("/", dashboard)
	return upstream
}

func (s *Stack) serve(lis net.Listener, h http.Handler, tlsConf *tls.Config) {
	s.closers = append(s.closers, Serve(lis, h, tlsConf))
}

// Serve serves h on lis (TLS when tlsConf is given; its errors are not logged: they surface as unreachable in
// the checks) and returns the function that stops it, gracefully within 5 seconds, then hard. Both tiers' stacks
// serve their listeners with it.
func Serve(lis net.Listener, h http.Handler, tlsConf *tls.Config) func() error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tlsConf, ErrorLog: QuietLog()}
	go func() {
		if tlsConf != nil {
			_ = srv.ServeTLS(lis, "", "")
		} else {
			_ = srv.Serve(lis)
		}
	}()
	return func() error { return Stop(srv) }
}

// StopGrace is how long Stop lets requests in flight finish. An HTTP/2 client's idle connection (client-go's, a
// TLS gateway's) counts as active until the server's GOAWAY has had its second to drain, so a full graceful
// shutdown cost a second or more per server: 4 to 9 s of the 5.5 to 10.7 s `make run` took, after its summary.
const StopGrace = 250 * time.Millisecond

// Stop shuts srv down, giving requests in flight StopGrace to finish, then closes what is left (the stand-ins'
// clients are done by the time a stack closes).
func Stop(srv *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), StopGrace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return srv.Close()
	}
	return nil
}

// Close stops everything the stack started and removes its temporary files.
func (s *Stack) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	if s.ownDir != "" {
		if err := os.RemoveAll(s.ownDir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Stack) prepareDir(dir string) error {
	if dir != "" {
		return os.MkdirAll(dir, 0o755)
	}
	d, err := os.MkdirTemp("", "kfp-authcheck-stack-")
	if err != nil {
		return err
	}
	s.ownDir = d
	return nil
}

func (s *Stack) dir(given string) string {
	if given != "" {
		return given
	}
	return s.ownDir
}

// Target is the stack as checks see it: its description and handles through the one Target builder. Start has
// built it once already, so the same inputs build again.
func (s *Stack) Target() *target.Target {
	t, _ := target.New(s.Description(), s.Handles())
	return t
}

// Handles are the live parts of the stack a description cannot hold: the movable clock, the Kubernetes
// stand-in's client, the CA's trust and the secrets to redact (the admin token, the gateway's client secret, the
// LDAP bind password).
func (s *Stack) Handles() target.Handles {
	r := redact.New()
	h := target.Handles{Name: "embedded:" + s.Profile.Name, Profile: s.Profile, Clock: s.Clock, TLS: s.tlsConfig, Redactor: r}
	if s.Kube != nil {
		h.Kube = s.kubeClient
		r.Add(s.Kube.AdminToken())
	}
	if s.Profile.Gateway != nil {
		r.Add(s.Profile.Gateway.ClientSecret)
	}
	if s.Profile.Dex != nil && s.Profile.Dex.LDAP != nil {
		r.Add(s.Profile.Dex.LDAP.BindPW)
	}
	return h
}

// Description is what `serve` prints: a valid target file for this stack.
func (s *Stack) Description() *target.File {
	f := &target.File{
		Profile: s.Profile.Name, Tier: target.TierEmbedded,
		GatewayURL: s.GatewayURL, PipelineURL: s.PipelineURL, InClusterAPIURL: s.InClusterAPIURL, InClusterUIURL: s.InClusterUIURL,
		DexGRPCAddr: s.DexGRPCAddr, Kubeconfig: s.Kubeconfig,
	}
	if s.Profile.Dex != nil {
		f.IssuerURL = s.IssuerURL
	}
	if s.CAFile != "" {
		f.TLS = &target.TLSConfig{CAFile: s.CAFile}
	}
	DescribeUsers(f, s.Profile, s.Users)
	return f
}

// DescribeUsers puts users (with their passwords) into a target file as its users section, an LDAP user's
// username where it is not the email, and the OOB client where profile p has it.
func DescribeUsers(f *target.File, p *profile.Profile, users []profile.User) {
	for _, u := range users {
		us := target.UserSpec{Email: u.Email, Password: u.Password, Connector: u.Connector, Namespace: u.Namespace}
		if u.Connector == "ldap" && u.Username != u.Email {
			us.Username = u.Username
		}
		f.Users = append(f.Users, us)
	}
	if p.Has(target.CapOOBClient) {
		f.OOBClientID = p.OOBClientID()
	}
}

// UsersWithPasswords copies the profile's users with the passwords in override (by email) put in.
func UsersWithPasswords(users []profile.User, override map[string]string) []profile.User {
	out := make([]profile.User, len(users))
	copy(out, users)
	for i := range out {
		if pw, ok := override[out[i].Email]; ok {
			out[i].Password = pw
		}
	}
	return out
}

func dexUsers(users []profile.User) []fixtures.DexUser {
	var out []fixtures.DexUser
	for _, u := range users {
		if u.Connector != "local" {
			continue
		}
		out = append(out, fixtures.DexUser{Email: u.Email, Username: u.Username, UserID: u.UserID, Password: u.Password})
	}
	return out
}

// ProfileAuthorizer stands in for SubjectAccessReview with the profile's Kubeflow Profiles (owners and
// contributors).
func ProfileAuthorizer(p *profile.Profile) kfpmock.Authorizer {
	members := map[string][]string{}
	for _, ns := range p.KFP.Namespaces {
		members[ns.Name] = append([]string{ns.Owner}, ns.Contributors...)
	}
	return &kfpmock.ProfileAuthorizer{Members: members}
}

// dashboard stands in for the central dashboard behind the gateway.
func dashboard(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<!doctype html><title>Kubeflow Central Dashboard</title><h1>Kubeflow</h1>"))
}
