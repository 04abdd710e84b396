package dex

import (
	"crypto/rsa"
	"time"
)

// LocalConnectorID is the ID Dex gives the password DB connector (server.LocalConnector).
const LocalConnectorID = "local"

// ConnectorConfig names one connector. Type "local" is the password DB connector (Dex's ID "local", name "Email").
type ConnectorConfig struct{ ID, Name, Type string }

// Config is the subset of Dex's configuration that changes behaviour on the wire.
type Config struct {
	Issuer             string            // e.g. "http://127.0.0.1:PORT/dex"; every route is served under the issuer's path
	Connectors         []ConnectorConfig // the selection page sorts them by Name, as Dex does
	SkipApprovalScreen bool
	AlwaysShowLogin    bool
	IDTokenTTL         time.Duration    // default 24h
	AuthCodeTTL        time.Duration    // default 30m (hard-coded in Dex v2.41.1)
	AuthRequestTTL     time.Duration    // default 24h
	Version            string           // what GetVersion reports, default "v2.41.1"
	Now                func() time.Time // injectable clock, default time.Now
	// RefreshTokens is expiry.refreshTokens; the zero value is Dex's default (rotation on, no reuse interval,
	// no idle or absolute limit).
	RefreshTokens RefreshPolicy

	// ResponseTypes is Dex's oauth2.responseTypes; default ["code"].
	ResponseTypes []string
	// StaticClients and StaticPasswords are Dex's staticClients and staticPasswords: read-only through the API.
	StaticClients   []Client
	StaticPasswords []Password
	// SigningKey signs tokens; nil generates a 2048-bit RSA key. Tests share one to stay fast.
	SigningKey *rsa.PrivateKey
	// GRPCDiscovery makes the gRPC GetDiscovery RPC answer. Dex v2.41.1 has no such method (its server/api.go
	// leaves it to UnimplementedDexServer), so by default it returns codes.Unimplemented like the real server.
	GRPCDiscovery bool
}

// Client is an OAuth2 client as Dex stores it.
type Client struct {
	ID           string
	Secret       string
	Name         string
	RedirectURIs []string
	TrustedPeers []string
	Public       bool
	LogoURL      string
}

// Password is an entry of the password DB. Hash is a bcrypt hash; the plain password is never stored.
type Password struct {
	Email    string
	Hash     []byte
	Username string
	UserID   string
}

const (
	defaultVersion        = "v2.41.1"
	defaultIDTokenTTL     = 24 * time.Hour
	defaultAuthCodeTTL    = 30 * time.Minute
	defaultAuthRequestTTL = 24 * time.Hour
	keyRotationPeriod     = 6 * time.Hour // Dex's default rotateKeysAfter; only sets the JWKS max-age here
)

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
