package dex

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"google.golang.org/protobuf/encoding/protowire"
)

// signingKeys holds the one key this mock signs with (Dex rotates every 6h; the mock does not).
type signingKeys struct {
	priv         jose.JSONWebKey
	pub          jose.JSONWebKey
	nextRotation time.Time
}

func newSigningKeys(key *rsa.PrivateKey, now time.Time) (*signingKeys, error) {
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("generate signing key: %w", err)
		}
	}
	// Dex's key ID: 20 random bytes, hex.
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	kid := hex.EncodeToString(b)
	return &signingKeys{
		priv:         jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: "RS256", Use: "sig"},
		pub:          jose.JSONWebKey{Key: key.Public(), KeyID: kid, Algorithm: "RS256", Use: "sig"},
		nextRotation: now.Add(keyRotationPeriod),
	}, nil
}

// audience marshals as a string when it has one member, as Dex's does.
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a audience) contains(s string) bool {
	for _, e := range a {
		if e == s {
			return true
		}
	}
	return false
}

// idTokenClaims is oauth2.go idTokenClaims; field order is Dex's, so payloads look alike.
type idTokenClaims struct {
	Issuer            string             `json:"iss"`
	Subject           string             `json:"sub"`
	Audience          audience           `json:"aud"`
	Expiry            int64              `json:"exp"`
	IssuedAt          int64              `json:"iat"`
	AuthorizingParty  string             `json:"azp,omitempty"`
	Nonce             string             `json:"nonce,omitempty"`
	AccessTokenHash   string             `json:"at_hash,omitempty"`
	CodeHash          string             `json:"c_hash,omitempty"`
	Email             string             `json:"email,omitempty"`
	EmailVerified     *bool              `json:"email_verified,omitempty"`
	Groups            []string           `json:"groups,omitempty"`
	Name              string             `json:"name,omitempty"`
	PreferredUsername string             `json:"preferred_username,omitempty"`
	FederatedIDClaims *federatedIDClaims `json:"federated_claims,omitempty"`
}

type federatedIDClaims struct {
	ConnectorID string `json:"connector_id,omitempty"`
	UserID      string `json:"user_id,omitempty"`
}

// Subject encodes Dex's "sub": base64url (raw) of the protobuf IDTokenSubject{user_id = 1, conn_id = 2}.
func Subject(userID, connectorID string) string {
	var b []byte
	// proto3 leaves empty strings out.
	if userID != "" {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, userID)
	}
	if connectorID != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, connectorID)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// halfHash is accessTokenHash for RS256: the left half of SHA-256, base64url.
func halfHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

func parseCrossClientScope(scope string) (string, bool) {
	const prefix = "audience:server:client_id:"
	if strings.HasPrefix(scope, prefix) {
		return scope[len(prefix):], true
	}
	return "", false
}

// validateCrossClientTrust is oauth2.go's: a peer trusts a client that it lists in TrustedPeers.
func (s *Server) validateCrossClientTrust(clientID, peerID string) bool {
	if peerID == clientID {
		return true
	}
	peer, err := s.store.getClient(peerID)
	if err != nil {
		return false
	}
	for _, id := range peer.TrustedPeers {
		if id == clientID {
			return true
		}
	}
	return false
}

func getAudience(clientID string, scopes []string) audience {
	var aud audience
	for _, scope := range scopes {
		if peerID, ok := parseCrossClientScope(scope); ok {
			aud = append(aud, peerID)
		}
	}
	if len(aud) == 0 {
		return audience{clientID}
	}
	if !aud.contains(clientID) {
		aud = append(aud, clientID)
	}
	return aud
}

// newAccessToken is Dex's: an ID token whose at_hash covers a random ID.
func (s *Server) newAccessToken(clientID string, c claims, scopes []string, nonce, connID string) (string, time.Time, error) {
	return s.newIDToken(clientID, c, scopes, nonce, newID(), "", connID)
}

// newIDToken is oauth2.go newIDToken: RS256, kid header, scope-driven claims.
func (s *Server) newIDToken(clientID string, c claims, scopes []string, nonce, accessToken, code, connID string) (string, time.Time, error) {
	issuedAt := s.now()
	expiry := issuedAt.Add(s.idTokenTTL)
	tok := idTokenClaims{
		Issuer:   s.issuerURL.String(),
		Subject:  Subject(c.UserID, connID),
		Nonce:    nonce,
		Expiry:   expiry.Unix(),
		IssuedAt: issuedAt.Unix(),
	}
	if accessToken != "" {
		tok.AccessTokenHash = halfHash(accessToken)
	}
	if code != "" {
		tok.CodeHash = halfHash(code)
	}
	for _, scope := range scopes {
		switch scope {
		case scopeEmail:
			verified := c.EmailVerified
			tok.Email, tok.EmailVerified = c.Email, &verified
		case scopeGroups:
			tok.Groups = c.Groups
		case scopeProfile:
			tok.Name, tok.PreferredUsername = c.Username, c.PreferredUsername
		case scopeFederatedID:
			tok.FederatedIDClaims = &federatedIDClaims{ConnectorID: connID, UserID: c.UserID}
		default:
			peerID, ok := parseCrossClientScope(scope)
			if ok && !s.validateCrossClientTrust(clientID, peerID) {
				return "", expiry, fmt.Errorf("peer (%s) does not trust client", peerID)
			}
		}
	}
	tok.Audience = getAudience(clientID, scopes)
	if len(tok.Audience) > 1 {
		tok.AuthorizingParty = clientID
	}
	payload, err := json.Marshal(tok)
	if err != nil {
		return "", expiry, fmt.Errorf("serialize claims: %w", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Key: &s.keys.priv, Algorithm: jose.RS256}, &jose.SignerOptions{})
	if err != nil {
		return "", expiry, fmt.Errorf("new signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", expiry, fmt.Errorf("sign payload: %w", err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		return "", expiry, fmt.Errorf("serialize token: %w", err)
	}
	return out, expiry, nil
}
