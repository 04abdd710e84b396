// Package embedded starts a whole KFP auth stack in-process for one profile: the Dex stand-in, the gateway
// stand-in (oauth2-proxy or oidc-authservice as the profile configures it), the KFP API stand-in behind it and an
// in-cluster API address, all on loopback ports chosen by the kernel. It yields the same Target as every other
// tier, and the description `kfp-authcheck serve` prints.
package embedded

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
	"github.com/kfp-authcheck/kfp-authcheck/internal/selfca"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/dex"
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
	// GatewayCertHost, where set on an https profile, makes the gateway serve a certificate of the stack's CA
	// for this host name only, not for the address the gateway is reached at: its chain verifies against the
	// target's CA and its host name does not (SETUP-003's misconfiguration case). The stack's own components
	// verify it under that name; the target's TLS configuration is left as always (the stack's CA, no name).
	GatewayCertHost string
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
	// innerTLS is what the stack's own components use to reach the gateway (tlsConfig, with the certificate's
	// host name where Options.GatewayCertHost sets one).
	innerTLS *tls.Config
	closers  []func() error
	ownDir   string
}

// Start brings the stack up and provisions Dex through its gRPC API. On any error everything started so far is
// stopped again.
func Start(ctx context.Context, p *profile.Profile, opts Options) (s *Stack, err error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	started := &Stack{Profile: p, Clock: &Clock{}, tlsConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
	started.innerTLS = started.tlsConfig
	s = started
	defer func() {
		if err != nil {
			started.Close() // s is already nil here: the return statement set it
		}
	}()
	if err := s.prepareDir(opts.Dir); err != nil {
		return nil, err
	}
	s.Users = components.UsersWithPasswords(p.Users, opts.Passwords)

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
		newCA := selfca.New
		if opts.GatewayCertHost != "" {
			newCA = func() (*selfca.Bundle, error) { return selfca.NewElsewhere(opts.GatewayCertHost) }
		}
		ca, err := newCA()
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
		s.innerTLS = s.tlsConfig.Clone()
		s.innerTLS.ServerName = opts.GatewayCertHost
		serverTLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{ca.Server}}
	}
	s.GatewayURL = scheme + "://" + gwLis.Addr().String()
	s.PipelineURL = s.GatewayURL + "/pipeline"
	s.IssuerURL = s.GatewayURL + "/dex"

	kfpCfg := components.KFPStandInConfig(p, "embedded")
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
	upstream := components.Upstream(kfp)
	if p.Gateway == nil {
		mux.Handle("/", upstream)
	} else {
		d, err := s.startDex(ctx, p, opts)
		if err != nil {
			gwLis.Close()
			return nil, err
		}
		front, err := s.gatewayFront(p, d, upstream)
		if err != nil {
			gwLis.Close()
			return nil, err
		}
		mux.Handle("/", front)
	}
	s.serve(gwLis, mux, serverTLS)
	if _, err := target.New(s.Description(), s.Handles()); err != nil {
		return nil, fmt.Errorf("the stack's target: %w", err)
	}
	return s, nil
}

// gatewayFront is the gateway stand-in in front of Dex and upstream, with the Istio gateway stand-in before it
// where the profile has a mesh.
func (s *Stack) gatewayFront(p *profile.Profile, d, upstream http.Handler) (http.Handler, error) {
	if p.Gateway.Mesh == nil {
		return components.StandInFront(p, s.GatewayURL, s.IssuerURL, s.IssuerURL, d, upstream, s.innerTLS, s.Clock.Now)
	}
	proxy, err := oauth2proxy.New(components.GatewayStandInConfig(p, s.GatewayURL, s.IssuerURL, s.innerTLS, s.Clock.Now))
	if err != nil {
		return nil, fmt.Errorf("gateway stand-in: %w", err)
	}
	return components.MeshFront(p, d, proxy.Handler, upstream,
		components.MeshConfig(p.Gateway.Mesh, s.IssuerURL, s.kubeJWKSURL(), s.meshHTTPClient(), s.Clock.Now))
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
	return components.ApplyProfileRBAC(ctx, client, p)
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
	if err := fixtures.ProvisionDex(ctx, addr, dexUsers(s.Users), components.DexClients(p, s.GatewayURL)); err != nil {
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

// kubeJWKSURL is the Kubernetes stand-in's key set, or "" without one (a rule for it then never verifies).
func (s *Stack) kubeJWKSURL() string {
	if s.Kube == nil {
		return ""
	}
	return s.Kube.URL() + "/openid/v1/jwks"
}

// meshHTTPClient fetches key sets as istiod does: it trusts the stack's CA (Dex over https) and the cluster's.
func (s *Stack) meshHTTPClient() *http.Client {
	conf := s.innerTLS.Clone()
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

// serveInCluster serves the KFP API on its own port, as ml-pipeline:8888 is reached inside the cluster, behind
// a stand-in for Kubeflow's Istio policy on ml-pipeline: a request that carries the identity header and did not
// come through the gateway is refused (kubeflow#6702).
func (s *Stack) serveInCluster(kfp *kfpmock.Server) error {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("in-cluster API listen: %w", err)
	}
	s.InClusterAPIURL = "http://" + lis.Addr().String()
	s.serve(lis, components.InClusterHandler(s.Profile, kfp), nil)
	if s.Profile.KFP.UIPolicy == "" {
		return nil
	}
	ui, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("in-cluster UI listen: %w", err)
	}
	s.InClusterUIURL = "http://" + ui.Addr().String()
	s.serve(ui, components.InClusterUIHandler(s.Profile, kfp.UIHandler()), nil)
	return nil
}

// InClusterUIHandler is ml-pipeline-ui:80 as pods reach it, behind a stand-in for Kubeflow's Istio

func (s *Stack) serve(lis net.Listener, h http.Handler, tlsConf *tls.Config) {
	s.closers = append(s.closers, components.Serve(lis, h, tlsConf))
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
	components.DescribeUsers(f, s.Profile, s.Users)
	return f
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
