package components

import (
	"encoding/json"
	"fmt"
	"net/url"

	"golang.org/x/crypto/bcrypt"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// DexFile is the part of Dex v2.41's config file (cmd/dex/config.go) the tier writes. JSON is YAML, and Dex
// reads its config through a YAML-to-JSON step, so the file is written as JSON.
type DexFile struct {
	Issuer           string            `json:"issuer"`
	Storage          dexStorage        `json:"storage"`
	Web              dexWeb            `json:"web"`
	Telemetry        dexWeb            `json:"telemetry"`
	GRPC             dexGRPC           `json:"grpc"`
	OAuth2           dexOAuth2         `json:"oauth2"`
	Expiry           dexExpiry         `json:"expiry"`
	Logger           dexLogger         `json:"logger"`
	EnablePasswordDB bool              `json:"enablePasswordDB"`
	StaticPasswords  []dexPassword     `json:"staticPasswords,omitempty"`
	StaticClients    []dexClient       `json:"staticClients,omitempty"`
	Connectors       []json.RawMessage `json:"connectors,omitempty"`
}

type dexStorage struct {
	Type string `json:"type"`
}

type dexWeb struct {
	HTTP string `json:"http"`
}

type dexGRPC struct {
	Addr string `json:"addr"`
}

type dexOAuth2 struct {
	SkipApprovalScreen    bool     `json:"skipApprovalScreen"`
	AlwaysShowLoginScreen bool     `json:"alwaysShowLoginScreen"`
	ResponseTypes         []string `json:"responseTypes,omitempty"`
}

type dexExpiry struct {
	IDTokens      string            `json:"idTokens,omitempty"`
	RefreshTokens *dexRefreshExpiry `json:"refreshTokens,omitempty"`
}

type dexRefreshExpiry struct {
	ReuseInterval     string `json:"reuseInterval,omitempty"`
	ValidIfNotUsedFor string `json:"validIfNotUsedFor,omitempty"`
	AbsoluteLifetime  string `json:"absoluteLifetime,omitempty"`
}

type dexLogger struct {
	Level  string `json:"level"`
	Format string `json:"format"`
}

type dexPassword struct {
	Email    string `json:"email"`
	Hash     string `json:"hash"`
	Username string `json:"username"`
	UserID   string `json:"userID"`
}

type dexClient struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Secret       string   `json:"secret,omitempty"`
	Public       bool     `json:"public,omitempty"`
	RedirectURIs []string `json:"redirectURIs"`
}

// DexAddrs are the host:port addresses Dex listens on: loopback ports on the local tier, all interfaces in a pod.
type DexAddrs struct{ Web, GRPC, Telemetry string }

// DexConfig turns the profile into Dex's config, the way the distributions configure Dex: the profile's
// users as staticPasswords (bcrypt hashes), the gateway's client and the profile's other clients as
// staticClients, the local connector as the password DB and other connectors from connectorConfig (their
// "config" blocks, keyed by connector ID, which the fixture that runs their backend supplies: slapd for ldap).
// Static entries are read-only through Dex's gRPC API, as on a real deployment; fixtures add users and clients
// beside them through fixtures.ProvisionDex.
func DexConfig(p *profile.Profile, issuerURL, gatewayURL string, users []profile.User, addrs DexAddrs,
	connectorConfig map[string]json.RawMessage) (*DexFile, error) {
	if p.Dex == nil || p.Gateway == nil {
		return nil, fmt.Errorf("profile %s has no Dex or no gateway", p.Name)
	}
	d := p.Dex
	c := &DexFile{
		Issuer:    issuerURL,
		Storage:   dexStorage{Type: "memory"},
		Web:       dexWeb{HTTP: addrs.Web},
		Telemetry: dexWeb{HTTP: addrs.Telemetry},
		GRPC:      dexGRPC{Addr: addrs.GRPC},
		OAuth2: dexOAuth2{SkipApprovalScreen: d.SkipApprovalScreen,
			AlwaysShowLoginScreen: d.AlwaysShowLogin, ResponseTypes: d.ResponseTypes},
		Logger: dexLogger{Level: "debug", Format: "text"},
	}
	if d.IDTokenTTL.Duration > 0 {
		c.Expiry.IDTokens = d.IDTokenTTL.Duration.String()
	}
	if d.RefreshReuseInterval.Duration > 0 || d.RefreshIdle.Duration > 0 || d.RefreshAbsolute.Duration > 0 {
		c.Expiry.RefreshTokens = &dexRefreshExpiry{ReuseInterval: durationOrEmpty(d.RefreshReuseInterval),
			ValidIfNotUsedFor: durationOrEmpty(d.RefreshIdle), AbsoluteLifetime: durationOrEmpty(d.RefreshAbsolute)}
	}
	for _, conn := range d.Connectors {
		switch conn.Type {
		case "local":
			if conn.ID != "local" {
				return nil, fmt.Errorf("profile %s: Dex's password DB connector is always called local, not %q", p.Name, conn.ID)
			}
			c.EnablePasswordDB = true
		default:
			cfg, ok := connectorConfig[conn.ID]
			if !ok {
				return nil, fmt.Errorf("profile %s: connector %s (type %s) needs its backend's configuration, which no fixture supplied",
					p.Name, conn.ID, conn.Type)
			}
			raw, err := json.Marshal(map[string]any{"type": conn.Type, "id": conn.ID, "name": conn.Name, "config": cfg})
			if err != nil {
				return nil, err
			}
			c.Connectors = append(c.Connectors, raw)
		}
	}
	for _, u := range users {
		if u.Connector != "local" {
			continue
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(u.Password), bcrypt.DefaultCost)
		if err != nil {
			return nil, fmt.Errorf("hash the password of %s: %w", u.Email, err)
		}
		c.StaticPasswords = append(c.StaticPasswords, dexPassword{Email: u.Email, Hash: string(hash),
			Username: orDefault(u.Username, u.Email), UserID: orDefault(u.UserID, u.Email)})
	}
	for _, cl := range DexClients(p, gatewayURL) {
		c.StaticClients = append(c.StaticClients, dexClient{ID: cl.ID, Name: cl.Name, Secret: cl.Secret,
			Public: cl.Public, RedirectURIs: cl.RedirectURIs})
	}
	return c, nil
}

func durationOrEmpty(d profile.Duration) string {
	if d.Duration <= 0 {
		return ""
	}
	return d.Duration.String()
}

// LDAPConnectorConfig is Dex's connector/ldap config block for the profile's LDAP settings against the
// directory at ldapURL (ldap://host:port, plain LDAP on loopback).
func LDAPConnectorConfig(l *profile.LDAP, ldapURL string) (json.RawMessage, error) {
	if l == nil {
		return nil, fmt.Errorf("the ldap connector needs the profile's dex.ldap settings")
	}
	u, err := url.Parse(ldapURL)
	if err != nil || u.Scheme != "ldap" || u.Host == "" {
		return nil, fmt.Errorf("LDAP URL %q: want ldap://host:port", ldapURL)
	}
	var matchers []map[string]string
	for _, m := range l.GroupSearch.UserMatchers {
		matchers = append(matchers, map[string]string{"userAttr": m.UserAttr, "groupAttr": m.GroupAttr})
	}
	cfg := map[string]any{
		"host": u.Host, "insecureNoSSL": true, "bindDN": l.BindDN, "bindPW": l.BindPW,
		"usernamePrompt": l.UsernamePrompt,
		"userSearch": map[string]any{"baseDN": l.UserSearch.BaseDN, "filter": l.UserSearch.Filter,
			"username": l.UserSearch.Username, "scope": l.UserSearch.Scope, "idAttr": l.UserSearch.IDAttr,
			"emailAttr": l.UserSearch.EmailAttr, "nameAttr": l.UserSearch.NameAttr,
			"preferredUsernameAttr": l.UserSearch.PreferredUsernameAttr},
		"groupSearch": map[string]any{"baseDN": l.GroupSearch.BaseDN, "filter": l.GroupSearch.Filter,
			"scope": l.GroupSearch.Scope, "userMatchers": matchers, "nameAttr": l.GroupSearch.NameAttr},
	}
	b, err := json.Marshal(cfg)
	return b, err
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
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
