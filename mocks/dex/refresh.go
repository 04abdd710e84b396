package dex

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// RefreshPolicy is Dex's expiry.refreshTokens (server/rotation.go RefreshTokenPolicy). Zero durations disable
// their check, as in Dex: a zero ReuseInterval means an obsolete token is never accepted again.
type RefreshPolicy struct {
	// DisableRotation is expiry.refreshTokens.disableRotation: the same refresh token is returned on every use.
	DisableRotation bool
	// ReuseInterval is reuseInterval: for this long after a token's last use, the previous (obsolete) token
	// still works and yields the current one, and a refresh does not rotate again (deployKF: 30s).
	ReuseInterval time.Duration
	// ValidIfNotUsedFor is validIfNotUsedFor, the idle lifetime counted from the last use (deployKF: 168h).
	ValidIfNotUsedFor time.Duration
	// AbsoluteLifetime is absoluteLifetime, counted from the login that created the token (deployKF: 2160h).
	AbsoluteLifetime time.Duration
}

// RefreshConnector is connector.RefreshConnector: a connector that can renew an identity without the user.
// The local connector implements it; a registered connector that does not (Dex's SAML and plain OAuth2 ones)
// makes Dex issue no refresh token at all.
type RefreshConnector interface {
	Refresh(ctx context.Context, scopes Scopes, identity Identity) (Identity, error)
}

// refreshToken is storage.RefreshToken.
type refreshToken struct {
	ID            string
	Token         string
	ObsoleteToken string
	ClientID      string
	ConnectorID   string
	Scopes        []string
	Claims        claims
	Nonce         string
	CreatedAt     time.Time
	LastUsed      time.Time
}

// refreshTokenRef and offlineSession are storage.RefreshTokenRef and storage.OfflineSessions: per user and
// connector, the one live refresh token of each client.
type refreshTokenRef struct {
	ID, ClientID        string
	CreatedAt, LastUsed time.Time
}

type offlineKey struct{ userID, connID string }

type offlineSession struct {
	Refresh map[string]refreshTokenRef // by client ID
}

// refreshError is refreshhandlers.go refreshError: Dex answers every refresh failure with error "invalid_request"
// except a token of another client (invalid_grant); internal errors carry an empty description and status 500.
type refreshError struct {
	typ, desc string
	status    int
}

var (
	errRefreshInvalid = &refreshError{errInvalidRequest, "Refresh token is invalid or has already been claimed by another client.", http.StatusBadRequest}
	errRefreshExpired = &refreshError{errInvalidRequest, "Refresh token expired.", http.StatusBadRequest}
	errRefreshServer  = &refreshError{errInvalidRequest, "", http.StatusInternalServerError}
)

func badRefresh(desc string) *refreshError {
	return &refreshError{errInvalidRequest, desc, http.StatusBadRequest}
}

// marshalRefreshToken is internal.Marshal(&internal.RefreshToken{RefreshId, Token}): base64url (raw) of the
// protobuf message {refresh_id = 1, token = 2}, what clients hold as refresh_token.
func marshalRefreshToken(id, token string) string {
	var b []byte
	if id != "" {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, id)
	}
	if token != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, token)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// unmarshalRefreshToken is extractRefreshTokenFromRequest's decoding: a value that is not such a message is
// taken as a bare refresh ID with an empty token (Dex's backward compatibility), which can never be claimed.
func unmarshalRefreshToken(s string) (id, token string) {
	id, token, err := parseStringPair(s)
	if err != nil {
		return s, ""
	}
	return id, token
}

// parseStringPair decodes base64url (raw) of a protobuf message whose fields 1 and 2 are strings, the shape of
// both internal.RefreshToken and internal.IDTokenSubject. Unknown fields are skipped, as proto.Unmarshal does.
func parseStringPair(s string) (first, second string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", "", err
	}
	bad := errors.New("proto: cannot parse invalid wire-format data")
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", "", bad
		}
		b = b[n:]
		if typ != protowire.BytesType || (num != 1 && num != 2) {
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return "", "", bad
			}
			b = b[m:]
			continue
		}
		v, m := protowire.ConsumeString(b)
		if m < 0 {
			return "", "", bad
		}
		b = b[m:]
		if num == 1 {
			first = v
		} else {
			second = v
		}
	}
	return first, second, nil
}

// policy checks, rotation.go.
func (s *Server) completelyExpired(createdAt time.Time) bool {
	return s.refreshPolicy.AbsoluteLifetime != 0 && s.now().After(createdAt.Add(s.refreshPolicy.AbsoluteLifetime))
}

func (s *Server) expiredBecauseUnused(lastUsed time.Time) bool {
	return s.refreshPolicy.ValidIfNotUsedFor != 0 && s.now().After(lastUsed.Add(s.refreshPolicy.ValidIfNotUsedFor))
}

func (s *Server) allowedToReuse(lastUsed time.Time) bool {
	return s.refreshPolicy.ReuseInterval != 0 && !s.now().After(lastUsed.Add(s.refreshPolicy.ReuseInterval))
}

// issueRefreshToken is the refresh half of exchangeAuthCode: only with offline_access and a connector that can
// refresh. A user's new login through the same client replaces (deletes) that client's previous refresh token.
// It returns "" when no token is due, and an error when the connector is gone (Dex: 500 server_error).
func (s *Server) issueRefreshToken(code authCode) (string, error) {
	conn, err := s.getConnector(code.ConnectorID)
	if err != nil {
		return "", fmt.Errorf("connector %q not found", code.ConnectorID)
	}
	if _, ok := conn.impl.(RefreshConnector); !ok || !contains(code.Scopes, scopeOfflineAccess) {
		return "", nil
	}
	now := s.now()
	rt := refreshToken{
		ID: newID(), Token: newID(), ClientID: code.ClientID, ConnectorID: code.ConnectorID,
		Scopes: append([]string(nil), code.Scopes...), Claims: code.Claims, Nonce: code.Nonce,
		CreatedAt: now, LastUsed: now,
	}
	st := s.store
	st.refreshMu.Lock()
	defer st.refreshMu.Unlock()
	st.refresh[rt.ID] = rt
	key := offlineKey{rt.Claims.UserID, rt.ConnectorID}
	sess, ok := st.offline[key]
	if !ok {
		sess = offlineSession{Refresh: map[string]refreshTokenRef{}}
		st.offline[key] = sess
	}
	if old, ok := sess.Refresh[rt.ClientID]; ok {
		delete(st.refresh, old.ID)
	}
	sess.Refresh[rt.ClientID] = refreshTokenRef{ID: rt.ID, ClientID: rt.ClientID, CreatedAt: now, LastUsed: now}
	return marshalRefreshToken(rt.ID, rt.Token), nil
}

// handleRefreshToken is refreshhandlers.go handleRefreshToken: look the token up, check reuse and expiry, scope
// down if asked, rotate (or hand back the current token within the reuse interval), then mint new tokens.
func (s *Server) handleRefreshToken(w http.ResponseWriter, r *http.Request, client Client) {
	raw := r.PostFormValue("refresh_token")
	if raw == "" {
		s.refreshErr(w, badRefresh("No refresh token is found in request."))
		return
	}
	id, token := unmarshalRefreshToken(raw)
	stored, rerr := s.lookupRefresh(client.ID, id, token)
	if rerr != nil {
		s.refreshErr(w, rerr)
		return
	}
	scopes, rerr := refreshScopes(r.PostFormValue("scope"), stored.Scopes)
	if rerr != nil {
		s.refreshErr(w, rerr)
		return
	}
	newToken, ident, rerr := s.rotateRefresh(r.Context(), stored, token, scopes)
	if rerr != nil {
		s.refreshErr(w, rerr)
		return
	}
	c := claims{UserID: ident.UserID, Username: ident.Username, PreferredUsername: ident.PreferredUsername,
		Email: ident.Email, EmailVerified: ident.EmailVerified, Groups: ident.Groups}
	accessToken, _, err := s.newAccessToken(client.ID, c, scopes, stored.Nonce, stored.ConnectorID)
	if err != nil {
		s.refreshErr(w, errRefreshServer)
		return
	}
	idToken, expiry, err := s.newIDToken(client.ID, c, scopes, stored.Nonce, accessToken, "", stored.ConnectorID)
	if err != nil {
		s.refreshErr(w, errRefreshServer)
		return
	}
	s.writeAccessToken(w, s.toAccessTokenResponse(idToken, accessToken, marshalRefreshToken(id, newToken), expiry))
}

func (s *Server) refreshErr(w http.ResponseWriter, e *refreshError) {
	s.tokenErr(w, e.typ, e.desc, e.status)
}

// lookupRefresh is getRefreshTokenFromStorage, in Dex's order: unknown, another client's, a stale token (unless
// it is the obsolete one within the reuse interval), then absolute and idle expiry.
func (s *Server) lookupRefresh(clientID, id, token string) (refreshToken, *refreshError) {
	st := s.store
	st.refreshMu.Lock()
	rt, ok := st.refresh[id]
	st.refreshMu.Unlock()
	if !ok {
		return refreshToken{}, errRefreshInvalid
	}
	if rt.ClientID != clientID {
		return refreshToken{}, &refreshError{errInvalidGrant, errRefreshInvalid.desc, http.StatusBadRequest}
	}
	if rt.Token != token && (!s.allowedToReuse(rt.LastUsed) || rt.ObsoleteToken == "" || rt.ObsoleteToken != token) {
		return refreshToken{}, errRefreshInvalid
	}
	if s.completelyExpired(rt.CreatedAt) || s.expiredBecauseUnused(rt.LastUsed) {
		return refreshToken{}, errRefreshExpired
	}
	if _, err := s.getConnector(rt.ConnectorID); err != nil {
		return refreshToken{}, errRefreshServer
	}
	return rt, nil
}

// refreshScopes is getRefreshScopes: no scope means the original ones; more than the original is refused.
func refreshScopes(requested string, original []string) ([]string, *refreshError) {
	if requested == "" {
		return original, nil
	}
	fields := strings.Fields(requested)
	var unauthorized []string
	for _, sc := range fields {
		if !contains(original, sc) {
			unauthorized = append(unauthorized, sc)
		}
	}
	if len(unauthorized) > 0 {
		return nil, badRefresh(fmt.Sprintf("Requested scopes contain unauthorized scope(s): %q.", unauthorized))
	}
	return fields, nil
}

// rotateRefresh is updateRefreshToken: under the refresh lock (Dex's storage transaction), decide between
// handing back the current token (reuse interval, or rotation disabled) and issuing a new one, asking the
// connector to refresh the identity only in the latter case. Concurrent refreshes of one token outside the
// reuse interval: the first rotates, the others fail with 500, as Dex's updater does.
func (s *Server) rotateRefresh(ctx context.Context, stored refreshToken, presented string, scopes []string) (string, Identity, *refreshError) {
	st := s.store
	st.refreshMu.Lock()
	defer st.refreshMu.Unlock()
	old, ok := st.refresh[stored.ID]
	if !ok {
		return "", Identity{}, errRefreshServer
	}
	ident := Identity{UserID: old.Claims.UserID, Username: old.Claims.Username, PreferredUsername: old.Claims.PreferredUsername,
		Email: old.Claims.Email, EmailVerified: old.Claims.EmailVerified, Groups: old.Claims.Groups}
	rotation := !s.refreshPolicy.DisableRotation
	reuse := s.allowedToReuse(old.LastUsed)
	newToken := presented
	lastUsed := s.now()
	switch {
	case !rotation && reuse:
		return s.touchOffline(old, old.Token, old.LastUsed, ident)
	case rotation && reuse:
		if old.Token != presented && old.ObsoleteToken != presented {
			return "", Identity{}, errRefreshServer
		}
		return s.touchOffline(old, old.Token, old.LastUsed, ident)
	case rotation && !reuse:
		if old.Token != presented {
			return "", Identity{}, errRefreshServer
		}
		old.ObsoleteToken = old.Token
		newToken = newID()
	}
	// Only here is the connector asked, once, so concurrent requests in the reuse interval do not reach it.
	conn, err := s.getConnector(old.ConnectorID)
	if err != nil {
		return "", Identity{}, errRefreshServer
	}
	if rc, ok := conn.impl.(RefreshConnector); ok {
		if ident, err = rc.Refresh(ctx, parseScopes(scopes), ident); err != nil {
			return "", Identity{}, errRefreshServer // storage untouched: Dex's updater fails as a whole
		}
	}
	old.Token, old.LastUsed = newToken, lastUsed
	old.Claims.Username, old.Claims.PreferredUsername = ident.Username, ident.PreferredUsername
	old.Claims.Email, old.Claims.EmailVerified, old.Claims.Groups = ident.Email, ident.EmailVerified, ident.Groups
	st.refresh[old.ID] = old
	return s.touchOffline(old, newToken, lastUsed, ident)
}

// touchOffline is updateOfflineSession (called with refreshMu held): the session must still point at this
// token, else 500 as in Dex.
func (s *Server) touchOffline(rt refreshToken, token string, lastUsed time.Time, ident Identity) (string, Identity, *refreshError) {
	sess, ok := s.store.offline[offlineKey{rt.Claims.UserID, rt.ConnectorID}]
	if !ok {
		return "", Identity{}, errRefreshServer
	}
	ref, ok := sess.Refresh[rt.ClientID]
	if !ok || ref.ID != rt.ID {
		return "", Identity{}, errRefreshServer
	}
	ref.LastUsed = lastUsed
	sess.Refresh[rt.ClientID] = ref
	return token, ident, nil
}

// Refresh is passwordDB.Refresh: the user must still exist with the same user ID; the username follows changes.
func (l localConnector) Refresh(_ context.Context, _ Scopes, ident Identity) (Identity, error) {
	p, err := l.store.getPassword(ident.Email)
	if err != nil {
		return Identity{}, errors.New("user not found")
	}
	if p.UserID != ident.UserID {
		return Identity{}, errors.New("user not found")
	}
	ident.Username = p.Username
	return ident, nil
}

// listRefresh and revokeRefresh back the gRPC ListRefresh and RevokeRefresh.
func (st *store) listRefresh(userID, connID string) []refreshTokenRef {
	st.refreshMu.Lock()
	defer st.refreshMu.Unlock()
	var out []refreshTokenRef
	for _, ref := range st.offline[offlineKey{userID, connID}].Refresh {
		out = append(out, ref)
	}
	return out
}

// revokeRefresh removes the client's entry from the offline session and deletes the token; false when none.
func (st *store) revokeRefresh(userID, connID, clientID string) bool {
	st.refreshMu.Lock()
	defer st.refreshMu.Unlock()
	sess, ok := st.offline[offlineKey{userID, connID}]
	if !ok {
		return false
	}
	ref, ok := sess.Refresh[clientID]
	if !ok || ref.ID == "" {
		return false
	}
	delete(sess.Refresh, clientID)
	delete(st.refresh, ref.ID)
	return true
}
