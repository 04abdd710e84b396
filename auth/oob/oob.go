// Package oob is the browser "out-of-band" OIDC login of deployKF's SDK client (WIRE-FACTS 2.3) as a library on
// golang.org/x/oauth2 and coreos/go-oidc: discovery at <issuer>/.well-known/openid-configuration, an
// authorization URL for the public client kubeflow-pipelines-sdk with redirect urn:ietf:wg:oauth:2.0:oob and
// PKCE S256, a code the user copies from Dex's page, the exchange with the verifier and no secret, ID-token
// verification, and the refresh grant. The interactive step is an Authorizer: a terminal prompt for people, the
// scripted browser for tests. Source adds deployKF's cache policy on top (tokencache).
package oob

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/kfp-authcheck/kfp-authcheck/auth/tokencache"
	"github.com/kfp-authcheck/kfp-authcheck/internal/limits"
)

// RedirectURI is Dex's out-of-band redirect: Dex shows the code on a page instead of redirecting.
const RedirectURI = "urn:ietf:wg:oauth:2.0:oob"

// DefaultClientID is deployKF's public client.
const DefaultClientID = "kubeflow-pipelines-sdk"

// DefaultScopes are deployKF's: offline_access makes Dex issue a refresh token.
var DefaultScopes = []string{"openid", "email", "groups", "profile", "offline_access"}

// Config says which issuer and client to log in with.
type Config struct {
	// Issuer is the Dex issuer URL exactly as Dex announces it (scheme, host, port and path); it is also the
	// cache key.
	Issuer string
	// ClientID defaults to DefaultClientID; Scopes to DefaultScopes.
	ClientID string
	Scopes   []string
	// HTTPClient carries TLS trust and a timeout; default one with a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock for expiry decisions and ID-token verification; default time.Now.
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if len(c.Scopes) == 0 {
		c.Scopes = DefaultScopes
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	// Discovery, token and error answers are read whole by go-oidc and x/oauth2: bound them (gzip decoded),
	// so a hostile issuer cannot grow the process.
	c.HTTPClient = limits.Client(c.HTTPClient, limits.Body)
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Client is a discovered issuer with the OAuth2 configuration of the public client.
type Client struct {
	cfg      Config
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// Discover fetches the issuer's discovery document. go-oidc refuses a document whose issuer differs from
// cfg.Issuer in any character, which is what OOB-001 asks.
func Discover(ctx context.Context, cfg Config) (*Client, error) {
	cfg.defaults()
	if cfg.Issuer == "" {
		return nil, &Error{Step: "discovery", Err: errors.New("no issuer URL given")}
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, cfg.HTTPClient), cfg.Issuer)
	if err != nil {
		return nil, &Error{Step: "discovery", Err: err}
	}
	c := &Client{cfg: cfg, provider: p}
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams // client_id in the form, no secret: deployKF's include_client_id=True
	c.oauth = oauth2.Config{ClientID: cfg.ClientID, Endpoint: ep, RedirectURL: RedirectURI, Scopes: cfg.Scopes}
	c.verifier = p.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: cfg.Now})
	return c, nil
}

// Issuer is the issuer the client was discovered at.
func (c *Client) Issuer() string { return c.cfg.Issuer }

// Endpoint is the discovered authorization and token endpoints.
func (c *Client) Endpoint() oauth2.Endpoint { return c.oauth.Endpoint }

// NewVerifier is a PKCE verifier as deployKF's client makes it: urlsafe base64 of 96 random bytes, unpadded,
// cut to 128 characters (RFC 7636's maximum).
func NewVerifier() string {
	b := make([]byte, 96)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:128]
}

// AuthCodeURL is the authorization URL with PKCE S256 for verifier.
func (c *Client) AuthCodeURL(state, verifier string) string {
	return c.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// Token is a token response with the ID token's verified claims at hand.
type Token struct {
	AccessToken  string
	TokenType    string
	RefreshToken string
	IDToken      string
	ExpiresIn    int64
	// Expiry is Now() + expires_in, on the client's clock.
	Expiry time.Time
	// Claims are the verified ID token's claims (email, aud, exp).
	Claims Claims
}

// Claims are the ID token claims the checks look at.
type Claims struct {
	Issuer   string
	Audience []string
	Email    string
	Expiry   time.Time
}

// Entry is the token as the cache file holds it.
func (t *Token) Entry() *tokencache.Entry {
	return &tokencache.Entry{AccessToken: t.AccessToken, TokenType: t.TokenType, ExpiresIn: t.ExpiresIn,
		RefreshToken: t.RefreshToken, IDToken: t.IDToken, ExpiresAt: float64(t.Expiry.Unix())}
}

// Exchange redeems an authorization code with the PKCE verifier (no client secret), then verifies the ID token.
// An empty verifier sends none (OOB-003 probes that Dex insists on it).
func (c *Client) Exchange(ctx context.Context, code, verifier string) (*Token, error) {
	code = strings.TrimSpace(code) // a pasted code often carries the newline
	var opts []oauth2.AuthCodeOption
	if verifier != "" {
		opts = append(opts, oauth2.VerifierOption(verifier))
	}
	tok, err := c.oauth.Exchange(c.ctx(ctx), code, opts...)
	if err != nil {
		return nil, tokenError("exchange", err)
	}
	return c.finish(ctx, "exchange", tok)
}

// Refresh runs the refresh_token grant. Dex rotates the refresh token; the new one is in the result.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*Token, error) {
	if refreshToken == "" {
		return nil, &Error{Step: "refresh", Err: errors.New("no refresh token")}
	}
	// An expiry in the past makes the token source refresh at once.
	src := c.oauth.TokenSource(c.ctx(ctx), &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Unix(1, 0)})
	tok, err := src.Token()
	if err != nil {
		return nil, tokenError("refresh", err)
	}
	return c.finish(ctx, "refresh", tok)
}

func (c *Client) finish(ctx context.Context, step string, tok *oauth2.Token) (*Token, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, &Error{Step: step, Err: errors.New("the token response has no id_token")}
	}
	claims, err := c.Verify(ctx, raw)
	if err != nil {
		return nil, &Error{Step: step, Err: err}
	}
	out := &Token{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken,
		IDToken: raw, ExpiresIn: tok.ExpiresIn, Claims: *claims}
	out.Expiry = c.cfg.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	if tok.ExpiresIn == 0 {
		out.Expiry = claims.Expiry
	}
	return out, nil
}

// Verify checks an ID token's signature against the issuer's keys, its issuer, audience (the client) and expiry.
func (c *Client) Verify(ctx context.Context, rawIDToken string) (*Claims, error) {
	idt, err := c.verifier.Verify(c.ctx(ctx), rawIDToken)
	if err != nil {
		return nil, fmt.Errorf("verify ID token: %w", err)
	}
	var extra struct {
		Email string `json:"email"`
	}
	if err := idt.Claims(&extra); err != nil {
		return nil, fmt.Errorf("ID token claims: %w", err)
	}
	return &Claims{Issuer: idt.Issuer, Audience: idt.Audience, Email: extra.Email, Expiry: idt.Expiry}, nil
}

// Login runs the whole interactive flow: a fresh verifier and state, the authorization URL handed to a, the code
// a returns exchanged and verified.
func (c *Client) Login(ctx context.Context, a Authorizer) (*Token, error) {
	verifier := NewVerifier()
	state := NewVerifier()[:32]
	code, err := a.Authorize(ctx, c.AuthCodeURL(state, verifier))
	if err != nil {
		return nil, &Error{Step: "authorize", Err: err}
	}
	return c.Exchange(ctx, code, verifier)
}

func (c *Client) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.cfg.HTTPClient)
}

// Error is a failed step of the flow: discovery, authorize, exchange or refresh.
type Error struct {
	Step string
	// TokenError is set when Dex's token endpoint refused the request.
	TokenError *TokenError
	Err        error
}

func (e *Error) Error() string { return "oob " + e.Step + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// TokenError is an OAuth2 error answer of the token endpoint (RFC 6749 5.2).
type TokenError struct {
	Status      int
	Code        string
	Description string
}

func (t *TokenError) Error() string {
	return fmt.Sprintf("token endpoint answered %d %s: %s", t.Status, t.Code, t.Description)
}

// tokenError turns x/oauth2's RetrieveError into a TokenError (status, code, description; never the body's
// other content), keeping transport errors as they are.
func tokenError(step string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		te := &TokenError{Code: re.ErrorCode, Description: re.ErrorDescription}
		if re.Response != nil {
			te.Status = re.Response.StatusCode
		}
		return &Error{Step: step, TokenError: te, Err: te}
	}
	return &Error{Step: step, Err: err}
}

// AsTokenError finds the token endpoint's refusal in err.
func AsTokenError(err error) (*TokenError, bool) {
	var te *TokenError
	ok := errors.As(err, &te)
	return te, ok
}
