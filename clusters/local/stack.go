// Package local starts a KFP auth stack from the real programs on loopback, for one profile: Dex and
// oauth2-proxy built by `make tools` from pinned modules, configured from the same profile data as the embedded
// mocks, and on request etcd with kube-apiserver (the KFP API stand-in's TokenReviews and SubjectAccessReviews go
// there). The project's KFP API stand-in is the upstream, or with Options.KFP the real KFP API server
// (kfpserver.go), and a small in-process front stands in for the Istio ingress gateway: it routes /dex/ to Dex
// and everything else to oauth2-proxy under one origin, as the VirtualServices do.
//
// Every program runs in its own process group with its log kept under the stack's directory; a failed start,
// Close, Ctrl-C (the caller's context) and the harness's own death (Pdeathsig) stop them all.
package local

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/atomicfile"
	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
	"github.com/kfp-authcheck/kfp-authcheck/internal/selfca"
	"github.com/kfp-authcheck/kfp-authcheck/internal/slapd"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/istiogateway"
	kfpmock "github.com/kfp-authcheck/kfp-authcheck/mocks/kfpapi"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/ldapserver"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// Options tune a local stack.
type Options struct {
	// Passwords overrides the profile's passwords by email.
	Passwords map[string]string
	// Dir receives configs and logs; default a new temporary directory, removed on Close.
	Dir string
	// ToolsDir holds the built programs; default ToolsDir().
	ToolsDir string
	// Kube also starts etcd and kube-apiserver, before the KFP API stand-in, which then sends its TokenReviews and
	// SubjectAccessReviews there (a few seconds; clusters.NeedsKube says when the checks need it).
	Kube bool
	// ConnectorConfig is the "config" block of a Dex connector other than local, by connector ID, where a
	// caller runs its backend itself. A connector of type ldap without one gets the profile's dex.ldap settings
	// against LDAPURL, $KFP_AUTHCHECK_LDAP_URL, or a slapd the stack starts with the fixture directory.
	ConnectorConfig map[string]json.RawMessage
	// LDAPURL is the directory behind Dex's ldap connector (ldap://host:port with fixtures/ldap/directory.ldif).
	LDAPURL string
	// StartTimeout bounds each program's start-up; default 60s.
	StartTimeout time.Duration
	// Progress, when set, gets a line per program as it comes up.
	Progress io.Writer
	// KFP is the KFP API behind the gateway and in-cluster: KFPStandIn (""), or KFPReal, the real KFP API server
	// with MariaDB and an S3 store (kfpserver.go; implies Kube), or KFPRealNoMesh, the same without the Istio
	// policy stand-in in front of the in-cluster address.
	KFP string
}

// Stack is a running local stack.
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
	Users          []profile.User
	// LDAPURL is the directory behind Dex's ldap connector, "" when the profile has none.
	LDAPURL string
	// Kube is the kube-apiserver, when Options.Kube asked for it.
	Kube *Kube
	// KFP is the real KFP API server, when Options.KFP asked for it.
	KFP *KFPServer
	// StartupTime is how long Start took.
	StartupTime time.Duration
	// Versions are the programs that run, with the pins they were built at.
	Versions map[string]string
	// GatewayStandIn is set where the profile's gateway has no real program here (oidc-authservice): the
	// embedded gateway stand-in runs in front of the real Dex instead.
	GatewayStandIn string

	dir       string
	ownDir    bool
	tlsConfig *tls.Config
	procs     group
	closers   []func() error
	redactor  *redact.Redactor
	kube      *kubeWiring
	kfp       *kfpBackend // the real KFP API server's front, nil with the stand-in
	meshed    bool        // the Istio gateway stand-in is in front (meshgateway.go)
}

// Start brings the stack up. On any error, everything started so far is stopped and the error carries the end
// of the failing program's log.
func Start(ctx context.Context, p *profile.Profile, opts Options) (s *Stack, err error) {
	begin := time.Now()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	tools := opts.ToolsDir
	if tools == "" && (p.Gateway != nil || opts.Kube || (opts.KFP != "" && opts.KFP != KFPStandIn)) {
		if tools, err = ToolsDir(); err != nil {
			return nil, err
		}
	}
	st := &Stack{Profile: p, tlsConfig: &tls.Config{MinVersion: tls.VersionTLS12}, Versions: map[string]string{},
		redactor: redact.New()}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if err := st.prepareDir(opts.Dir); err != nil {
		return nil, err
	}
	if err := st.prepareKFP(&opts); err != nil {
		return nil, err
	}
	st.Users = components.UsersWithPasswords(p.Users, opts.Passwords)
	for _, u := range st.Users {
		st.redactor.Add(u.Password)
	}

	gwLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("gateway listen: %w", err)
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
		st.CAFile = filepath.Join(st.dir, "ca.pem")
		if err := os.WriteFile(st.CAFile, ca.CAPEM, 0o644); err != nil {
			gwLis.Close()
			return nil, fmt.Errorf("write CA bundle: %w", err)
		}
		st.tlsConfig.RootCAs = ca.Pool
		serverTLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{ca.Server}}
	}
	st.GatewayURL = scheme + "://" + gwLis.Addr().String()
	st.PipelineURL = st.GatewayURL + "/pipeline"
	st.IssuerURL = st.GatewayURL + "/dex"

	if opts.Kube {
		if err := st.startKubeAPI(ctx, p, tools, opts); err != nil {
			gwLis.Close()
			return nil, err
		}
	}
	authz, reviewer := st.kfpAuth(p)
	kfpCfg := components.KFPStandInConfig(p, "local")
	kfpCfg.Authorizer, kfpCfg.TokenReviewer = authz, reviewer
	kfp, err := kfpmock.New(kfpCfg)
	if err != nil {
		gwLis.Close()
		return nil, fmt.Errorf("kfp api stand-in: %w", err)
	}
	inLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		gwLis.Close()
		return nil, fmt.Errorf("in-cluster API listen: %w", err)
	}
	st.InClusterAPIURL = "http://" + inLis.Addr().String()
	st.serve(inLis, st.inClusterHandler(p, kfp), nil)
	if p.KFP.UIPolicy != "" {
		uiLis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			gwLis.Close()
			return nil, fmt.Errorf("in-cluster UI listen: %w", err)
		}
		st.InClusterUIURL = "http://" + uiLis.Addr().String()
		st.serve(uiLis, components.InClusterUIHandler(p, st.uiBackend(kfp)), nil)
	}

	front, err := st.startGateway(ctx, p, kfp, tools, opts)
	if err != nil {
		gwLis.Close()
		return nil, err
	}
	st.serve(gwLis, front, serverTLS)
	if st.kfp != nil {
		if err := st.startRealKFP(ctx, p, tools, opts); err != nil {
			return nil, err
		}
	}
	if _, err := target.New(st.Description(), st.Handles()); err != nil {
		return nil, fmt.Errorf("the stack's target: %w", err)
	}
	st.StartupTime = time.Since(begin)
	return st, nil
}

// startGateway starts Dex and the gateway for p and returns the front handler (the ingress stand-in).
func (s *Stack) startGateway(ctx context.Context, p *profile.Profile, kfp *kfpmock.Server, tools string, opts Options) (http.Handler, error) {
	upstream := s.upstream(kfp)
	if p.Gateway == nil {
		// standalone: KFP with no auth, the same stand-in as the embedded tier; no real program to run.
		s.GatewayStandIn = "none (no auth in this profile: the KFP API alone)"
		return upstream, nil
	}
	if err := s.wireLDAP(ctx, p, &opts); err != nil {
		return nil, err
	}
	dexDirect, err := s.startDex(ctx, p, tools, opts)
	if err != nil {
		return nil, err
	}
	dexURL, _ := url.Parse(dexDirect)
	switch p.Gateway.Kind {
	case "oauth2-proxy":
		upLis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("upstream listen: %w", err)
		}
		s.serve(upLis, components.IdentityFromGateway(p, upstream), nil)
		proxyURL, err := s.startOAuth2Proxy(ctx, p, tools, dexDirect, "http://"+upLis.Addr().String()+"/", opts)
		if err != nil {
			return nil, err
		}
		u, _ := url.Parse(proxyURL)
		var mesh *istiogateway.Config
		if p.Gateway.Mesh != nil && s.kube != nil {
			if mesh, err = s.meshConfig(ctx, p); err != nil {
				return nil, err
			}
		}
		return components.Front(p, components.ReverseProxy(dexURL), components.ReverseProxy(u), upstream, mesh)
	default:
		// No real program for this gateway (oidc-authservice) is built here: the embedded stand-in runs in
		// front of the real Dex, so Dex's side of the flow (approval screen included) is still the real one.
		s.GatewayStandIn = p.Gateway.Kind + " (embedded stand-in: no real program on the local tier)"
		return components.StandInFront(p, s.GatewayURL, s.IssuerURL, s.IssuerURL, components.ReverseProxy(dexURL), upstream, s.tlsConfig, time.Now)
	}
}

// wireLDAP gives every ldap connector its config block: against opts.LDAPURL, the environment's
// KFP_AUTHCHECK_LDAP_URL, or OpenLDAP's slapd started here with the fixture directory (Debian's package; where
// it is missing, the in-process LDAP server, and the run says so).
func (s *Stack) wireLDAP(ctx context.Context, p *profile.Profile, opts *Options) error {
	for _, c := range p.Dex.Connectors {
		if c.Type != "ldap" || opts.ConnectorConfig[c.ID] != nil {
			continue
		}
		if s.LDAPURL == "" {
			if err := s.ldapServer(ctx, opts); err != nil {
				return err
			}
		}
		cfg, err := components.LDAPConnectorConfig(p.Dex.LDAP, s.LDAPURL)
		if err != nil {
			return fmt.Errorf("connector %s: %w", c.ID, err)
		}
		if opts.ConnectorConfig == nil {
			opts.ConnectorConfig = map[string]json.RawMessage{}
		}
		opts.ConnectorConfig[c.ID] = cfg
		s.redactor.Add(p.Dex.LDAP.BindPW)
	}
	return nil
}

func (s *Stack) ldapServer(ctx context.Context, opts *Options) error {
	s.LDAPURL = opts.LDAPURL
	if s.LDAPURL == "" {
		s.LDAPURL = os.Getenv(embedded.LDAPURLEnv)
	}
	if s.LDAPURL != "" {
		s.Versions["ldap"] = "given: " + s.LDAPURL
		return nil
	}
	if slapd.Installed() {
		srv, err := slapd.Start(ctx, fixtures.DirectoryLDIF)
		if err != nil {
			return &StartError{Program: "slapd", Err: err}
		}
		s.closers = append(s.closers, srv.Stop)
		s.LDAPURL = srv.URL
		s.Versions["slapd"] = "Debian package"
		progress(opts.Progress, "slapd on %s (fixtures/ldap/directory.ldif)", srv.URL)
		return nil
	}
	srv, err := ldapserver.StartLDIF(fixtures.DirectoryLDIF)
	if err != nil {
		return fmt.Errorf("fixture directory: %w", err)
	}
	s.closers = append(s.closers, srv.Close)
	s.LDAPURL = srv.URL()
	s.Versions["ldap"] = "in-process stand-in (slapd is not installed: make slapd)"
	return nil
}

func (s *Stack) startDex(ctx context.Context, p *profile.Profile, tools string, opts Options) (string, error) {
	choice, err := chooseTool(tools, "dex", p.Dex.Version)
	if err != nil {
		return "", err
	}
	bin := choice.Binary
	s.Versions["dex"] = choice.String()
	cfgPath := filepath.Join(s.dir, "dex.yaml")
	var direct string
	_, ports, err := s.procs.launch(ctx, "dex", bin, s.dir, 3, func(ports []int) ([]string, []string, func(context.Context) error, error) {
		cfg, err := components.DexConfig(p, s.IssuerURL, s.GatewayURL, s.Users, components.DexAddrs{Web: loopback(ports[0]),
			GRPC: loopback(ports[1]), Telemetry: loopback(ports[2])},
			opts.ConnectorConfig)
		if err != nil {
			return nil, nil, nil, err
		}
		b, err := json.MarshalIndent(cfg, "", "  ")
		if err != nil {
			return nil, nil, nil, err
		}
		if err := atomicfile.Write(cfgPath, b, 0o600); err != nil { // holds the clients' secrets
			return nil, nil, nil, err
		}
		direct = fmt.Sprintf("http://127.0.0.1:%d%s", ports[0], pathOf(s.IssuerURL))
		client := &http.Client{Timeout: 2 * time.Second}
		return []string{"serve", cfgPath}, nil, httpReady(client, direct+"/healthz", nil), nil
	}, opts.StartTimeout)
	if err != nil {
		return "", err
	}
	s.DexGRPCAddr = fmt.Sprintf("127.0.0.1:%d", ports[1])
	progress(opts.Progress, "dex %s on %s (issuer %s, gRPC %s)", s.Versions["dex"], strings.TrimSuffix(direct, pathOf(s.IssuerURL)),
		s.IssuerURL, s.DexGRPCAddr)
	return direct, nil
}

func (s *Stack) startOAuth2Proxy(ctx context.Context, p *profile.Profile, tools, dexDirect, upstream string, opts Options) (string, error) {
	choice, err := chooseTool(tools, "oauth2-proxy", p.Gateway.Version)
	if err != nil {
		return "", err
	}
	bin := choice.Binary
	s.Versions["oauth2-proxy"] = choice.String()
	secret, err := components.NewCookieSecret()
	if err != nil {
		return "", err
	}
	s.redactor.Add(secret)
	s.redactor.Add(p.Gateway.ClientSecret)
	cfgPath := filepath.Join(s.dir, "oauth2_proxy.cfg")
	var base string
	_, _, err = s.procs.launch(ctx, "oauth2-proxy", bin, s.dir, 1, func(ports []int) ([]string, []string, func(context.Context) error, error) {
		cfg, err := components.OAuth2ProxyConfig(p, components.ProxyEndpoints{Listen: loopback(ports[0]), GatewayURL: s.GatewayURL, IssuerURL: s.IssuerURL,
			DexDirect: dexDirect, Upstream: upstream}, secret)
		if err != nil {
			return nil, nil, nil, err
		}
		if err := atomicfile.Write(cfgPath, []byte(cfg), 0o600); err != nil { // holds the client and cookie secrets
			return nil, nil, nil, err
		}
		base = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		client := &http.Client{Timeout: 2 * time.Second}
		return []string{"--config", cfgPath}, nil, httpReady(client, base+"/ready", nil), nil
	}, opts.StartTimeout)
	if err != nil {
		return "", err
	}
	progress(opts.Progress, "oauth2-proxy %s on %s (upstream %s)", s.Versions["oauth2-proxy"], base, upstream)
	return base, nil
}

func (s *Stack) serve(lis net.Listener, h http.Handler, tlsConf *tls.Config) {
	s.closers = append(s.closers, components.Serve(lis, h, tlsConf))
}

// Close stops every program and server the stack started and removes its temporary directory.
func (s *Stack) Close() error {
	var errs []error
	if err := s.procs.stopAll(); err != nil {
		errs = append(errs, err)
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	if s.ownDir && s.dir != "" {
		if err := os.RemoveAll(s.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// LogTails is the end of every program's log, for a result or a spec that failed: which program said what.
func (s *Stack) LogTails(n int) string {
	s.procs.mu.Lock()
	procs := append([]*process(nil), s.procs.procs...)
	s.procs.mu.Unlock()
	var b strings.Builder
	for _, p := range procs {
		fmt.Fprintf(&b, "--- %s (%s) ---\n%s\n", p.name, p.logPath, s.redactor.String(p.logTail(n)))
	}
	return b.String()
}

func (s *Stack) prepareDir(dir string) error {
	if dir != "" {
		s.dir = dir
		return os.MkdirAll(dir, 0o700)
	}
	d, err := os.MkdirTemp("", "kfp-authcheck-local-")
	if err != nil {
		return err
	}
	s.dir, s.ownDir = d, true
	return nil
}

// Target is the stack as checks see it: its description and handles through the one Target builder. Start has
// built it once already, so the same inputs build again.
func (s *Stack) Target() *target.Target {
	t, _ := target.New(s.Description(), s.Handles())
	return t
}

// Handles are the live parts of the stack: kube-apiserver's admin client and the trust of the gateway's CA; the
// redactor knows every program's secrets.
func (s *Stack) Handles() target.Handles {
	h := target.Handles{Name: "local:" + s.Profile.Name, Profile: s.Profile, TLS: s.tlsConfig, Redactor: s.redactor}
	if s.kube != nil {
		h.Kube = s.kube.client
	}
	return h
}

// Description is what `serve --tier local` prints: a valid target file for this stack. It declares what its
// addresses cannot show: a real kube-apiserver (with the PodDefault webhook's admission where registered), no runs
// with the real KFP API server (no Argo here), and no M2M where the profile's mesh has no stand-in in front.
func (s *Stack) Description() *target.File {
	f := &target.File{
		Profile: s.Profile.Name, Tier: target.TierLocal,
		GatewayURL: s.GatewayURL, PipelineURL: s.PipelineURL, InClusterAPIURL: s.InClusterAPIURL, InClusterUIURL: s.InClusterUIURL,
		DexGRPCAddr: s.DexGRPCAddr,
	}
	if s.Profile.Dex != nil {
		f.IssuerURL = s.IssuerURL
	}
	if s.CAFile != "" {
		f.TLS = &target.TLSConfig{CAFile: s.CAFile}
	}
	if s.Kube != nil {
		f.Kubeconfig = s.Kube.Kubeconfig
	}
	components.DescribeUsers(f, s.Profile, s.Users)
	f.Capabilities = s.declared()
	return f
}

// VersionList renders the programs and their pins, for the effective configuration a run prints.
func (s *Stack) VersionList() string {
	var out []string
	for k, v := range s.Versions {
		out = append(out, k+" "+v)
	}
	sort.Strings(out)
	if s.GatewayStandIn != "" {
		out = append(out, "gateway: "+s.GatewayStandIn)
	}
	return strings.Join(out, ", ")
}

func loopback(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Path
}

func progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, "local: "+format+"\n", args...)
	}
}
