package dex

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Server is the Dex stand-in. It is an http.Handler serving full request paths (e.g. /dex/auth) and is safe for
// concurrent use.
type Server struct {
	issuerURL url.URL
	store     *store
	keys      *signingKeys
	templates *templates
	mux       *http.ServeMux

	connMu     sync.RWMutex
	connectors []connectorEntry

	skipApproval    bool
	alwaysShowLogin bool
	idTokenTTL      time.Duration
	authCodeTTL     time.Duration
	authRequestTTL  time.Duration
	version         string
	grpcDiscovery   bool
	refreshPolicy   RefreshPolicy
	now             func() time.Time

	supportedResponseTypes map[string]bool
	supportedGrantTypes    []string
	discovery              discovery
}

// New builds a server from cfg. Like Dex it refuses a config without connectors, and validates static clients
// and passwords the way cmd/dex validates its config file.
func New(cfg Config) (*Server, error) {
	issuerURL, err := url.Parse(cfg.Issuer)
	if err != nil || cfg.Issuer == "" {
		return nil, errors.New("dex: can't parse issuer URL")
	}
	if len(cfg.Connectors) == 0 {
		return nil, errors.New("dex: no connectors specified")
	}
	s := &Server{
		issuerURL:       *issuerURL,
		store:           newStore(),
		skipApproval:    cfg.SkipApprovalScreen,
		alwaysShowLogin: cfg.AlwaysShowLogin,
		idTokenTTL:      orDefault(cfg.IDTokenTTL, defaultIDTokenTTL),
		authCodeTTL:     orDefault(cfg.AuthCodeTTL, defaultAuthCodeTTL),
		authRequestTTL:  orDefault(cfg.AuthRequestTTL, defaultAuthRequestTTL),
		version:         cfg.Version,
		grpcDiscovery:   cfg.GRPCDiscovery,
		refreshPolicy:   cfg.RefreshTokens,
		now:             cfg.Now,
	}
	if s.version == "" {
		s.version = defaultVersion
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.store.lastGC = s.now()
	if err := s.addConnectors(cfg.Connectors); err != nil {
		return nil, err
	}
	if err := s.addStatic(cfg.StaticClients, cfg.StaticPasswords); err != nil {
		return nil, err
	}
	if err := s.setResponseTypes(cfg.ResponseTypes); err != nil {
		return nil, err
	}
	if s.keys, err = newSigningKeys(cfg.SigningKey, s.now()); err != nil {
		return nil, fmt.Errorf("dex: %w", err)
	}
	if s.templates, err = loadTemplates(s.issuerURL.Path); err != nil {
		return nil, fmt.Errorf("dex: %w", err)
	}
	s.discovery = s.buildDiscovery()
	if s.mux, err = s.routes(); err != nil {
		return nil, fmt.Errorf("dex: %w", err)
	}
	return s, nil
}

func (s *Server) addConnectors(cs []ConnectorConfig) error {
	seen := map[string]bool{}
	for _, c := range cs {
		if c.ID == "" || c.Type == "" {
			return errors.New("dex: every connector needs an ID and a type")
		}
		if seen[c.ID] {
			return fmt.Errorf("dex: duplicate connector ID %q", c.ID)
		}
		seen[c.ID] = true
		e := connectorEntry{ID: c.ID, Name: c.Name, Type: c.Type}
		if c.Type == LocalConnectorID {
			e.impl = localConnector{id: c.ID, store: s.store}
		}
		s.connectors = append(s.connectors, e)
	}
	return nil
}

func (s *Server) addStatic(clients []Client, passwords []Password) error {
	for _, c := range clients {
		switch {
		case c.Name == "":
			return errors.New("dex: invalid config: Name field is required for a client")
		case c.ID == "":
			return errors.New("dex: invalid config: ID or IDEnv field is required for a client")
		case c.Secret == "" && !c.Public:
			return fmt.Errorf("dex: invalid config: Secret or SecretEnv field is required for client %q", c.ID)
		}
		s.store.staticClients[c.ID] = cloneClient(c)
	}
	for _, p := range passwords {
		if len(p.Hash) == 0 {
			return errors.New("dex: no password hash provided")
		}
		if _, err := bcrypt.Cost(p.Hash); err != nil {
			return fmt.Errorf("dex: malformed bcrypt hash: %w", err)
		}
		p.Hash = append([]byte(nil), p.Hash...)
		s.store.staticPasswords[strings.ToLower(p.Email)] = p
	}
	return nil
}

// setResponseTypes mirrors newServer: the response types allowed, and the grant types that follow from them.
func (s *Server) setResponseTypes(types []string) error {
	if len(types) == 0 {
		types = []string{responseTypeCode}
	}
	grants := map[string]bool{
		grantTypeAuthorizationCode: true,
		grantTypeRefreshToken:      true,
		grantTypeDeviceCode:        true,
		grantTypeTokenExchange:     true,
	}
	s.supportedResponseTypes = map[string]bool{}
	for _, t := range types {
		switch t {
		case responseTypeCode, responseTypeIDToken, responseTypeCodeIDToken:
		case responseTypeToken, responseTypeCodeToken, responseTypeIDTokenToken, responseTypeCodeIDTokenToken:
			grants[grantTypeImplicit] = true
		default:
			return fmt.Errorf("dex: unsupported response_type %q", t)
		}
		s.supportedResponseTypes[t] = true
	}
	for g := range grants {
		s.supportedGrantTypes = append(s.supportedGrantTypes, g)
	}
	sort.Strings(s.supportedGrantTypes)
	return nil
}

// ServeHTTP serves every Dex route under the issuer's path; anything else is Go's plain 404, like gorilla/mux's.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.collectGarbage()
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() (*http.ServeMux, error) {
	static, theme, robots, err := staticAssets()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	handle := func(p string, h http.HandlerFunc) { mux.Handle(s.absPath(p), h) }
	handlePrefix := func(p string, h http.Handler) {
		prefix := s.absPath(p)
		mux.Handle(prefix+"/", http.StripPrefix(prefix, h))
	}
	handle("/.well-known/openid-configuration", s.handleDiscovery)
	handle("/token", s.handleToken)
	handle("/keys", s.handlePublicKeys)
	handle("/userinfo", s.handleUserInfo)
	handle("/auth", s.handleAuthorization)
	handle("/auth/{connector}", s.handleConnectorLogin)
	handle("/auth/{connector}/login", s.handlePasswordLogin)
	handle("/approval", s.handleApproval)
	handle("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "Health check passed") })
	handle("/robots.txt", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(robots) })
	handlePrefix("/static", static)
	handlePrefix("/theme", theme)
	return mux, nil
}

// absPath is Server.absPath: the issuer's path joined with the items.
func (s *Server) absPath(items ...string) string {
	return path.Join(append([]string{"/", s.issuerURL.Path}, items...)...)
}

// absURL is Server.absURL: the issuer URL with absPath as its path.
func (s *Server) absURL(items ...string) string {
	u := s.issuerURL
	u.Path = s.absPath(items...)
	return u.String()
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.templates.renderError(w, r, status, msg)
}
