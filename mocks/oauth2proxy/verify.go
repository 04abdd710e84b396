package oauth2proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// maxResponseBytes caps every response body read from Dex.
const maxResponseBytes = 1 << 20

// idClaims are the ID token claims the proxy uses, as oauth2-proxy's default claim names.
type idClaims struct {
	Subject           string `json:"sub"`
	Email             string `json:"email"`
	EmailVerified     *bool  `json:"email_verified"`
	Groups            any    `json:"groups"`
	PreferredUsername string `json:"preferred_username"`
	Nonce             string `json:"nonce"`
}

// tokenVerifier checks ID tokens: RS256 signature against the cached JWKS, iss and exp (go-oidc, as
// oauth2-proxy uses), then aud against the allowed set.
type tokenVerifier struct {
	verifier *oidc.IDTokenVerifier
}

func newTokenVerifier(cfg Config, client *http.Client) *tokenVerifier {
	// go-oidc keeps the context as configuration: it carries the HTTP client (and so its timeout).
	ctx := oidc.ClientContext(context.Background(), client)
	keys := oidc.NewRemoteKeySet(ctx, cfg.JWKSURL)
	return &tokenVerifier{verifier: oidc.NewVerifier(cfg.IssuerURL, keys, &oidc.Config{
		SkipClientIDCheck:    true, // aud is checked below against more than one value
		SupportedSigningAlgs: []string{oidc.RS256},
		Now:                  cfg.Now,
	})}
}

// verifiedToken is an ID token whose signature, iss and exp hold.
type verifiedToken struct {
	audience []string
	expiry   time.Time
	claims   idClaims
}

func (v *tokenVerifier) verify(ctx context.Context, raw string) (*verifiedToken, error) {
	tok, err := v.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("failed to verify token: %w", err)
	}
	out := &verifiedToken{audience: tok.Audience, expiry: tok.Expiry}
	if err := tok.Claims(&out.claims); err != nil {
		return nil, fmt.Errorf("failed to parse id_token claims: %w", err)
	}
	return out, nil
}

// audienceIn reports whether any of aud is in allowed.
func audienceIn(aud, allowed []string) bool {
	for _, a := range aud {
		if slices.Contains(allowed, a) {
			return true
		}
	}
	return false
}

// groups mirrors the claim extractor: a list of strings, or one string.
func (c *idClaims) groups() []string {
	switch g := c.Groups.(type) {
	case string:
		return []string{g}
	case []any:
		out := make([]string, 0, len(g))
		for _, v := range g {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// checkEmailVerified mirrors buildSessionFromClaims: email_verified present and false refuses the token.
func (c *idClaims) checkEmailVerified() error {
	if c.EmailVerified != nil && !*c.EmailVerified {
		return errors.New("email in id_token isn't verified")
	}
	return nil
}

// boundedClient returns a copy of c whose response bodies fail once they exceed maxResponseBytes, so neither
// go-oidc nor golang.org/x/oauth2 can read an unbounded body.
func boundedClient(c *http.Client) *http.Client {
	out := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	out.Transport = boundedTransport{base: base}
	return &out
}

type boundedTransport struct{ base http.RoundTripper }

func (t boundedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &boundedBody{ReadCloser: resp.Body, left: maxResponseBytes}
	return resp, nil
}

type boundedBody struct {
	io.ReadCloser
	left int64
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var probe [1]byte
		if n, err := b.ReadCloser.Read(probe[:]); n == 0 && err != nil {
			return 0, err // io.EOF at exactly the limit is fine
		}
		return 0, fmt.Errorf("response body exceeds %d bytes", maxResponseBytes)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
