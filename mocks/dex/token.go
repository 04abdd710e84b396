package dex

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// tokenErr is oauth2.go tokenErr: {"error","error_description"} with the description left out when empty.
func (s *Server) tokenErr(w http.ResponseWriter, typ, description string, status int) {
	body, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{typ, description})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// handleToken is POST /token. Dex answers other methods with 400 invalid_request "method not allowed".
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost {
		s.tokenErr(w, errInvalidRequest, "method not allowed", http.StatusBadRequest)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.tokenErr(w, errInvalidRequest, "", http.StatusBadRequest)
		return
	}
	grantType := r.PostFormValue("grant_type")
	if !contains(s.supportedGrantTypes, grantType) {
		s.tokenErr(w, errUnsupportedGrantType, "", http.StatusBadRequest)
		return
	}
	switch grantType {
	case grantTypeDeviceCode:
		s.handleDeviceToken(w, r)
	case grantTypeAuthorizationCode:
		s.withClient(w, r, s.handleAuthCode)
	case grantTypeRefreshToken:
		s.withClient(w, r, s.handleRefreshToken)
	case grantTypeTokenExchange:
		s.withClient(w, r, s.handleTokenExchange)
	default:
		s.tokenErr(w, errUnsupportedGrantType, "", http.StatusBadRequest)
	}
}

// withClient is withClientFromStorage: HTTP Basic (URL-decoded) or form credentials, compared in constant time.
// A public client's secret is empty, so its client_id alone passes.
func (s *Server) withClient(w http.ResponseWriter, r *http.Request, next func(http.ResponseWriter, *http.Request, Client)) {
	clientID, clientSecret, ok := r.BasicAuth()
	if ok {
		var err error
		if clientID, err = url.QueryUnescape(clientID); err != nil {
			s.tokenErr(w, errInvalidRequest, "client_id improperly encoded", http.StatusBadRequest)
			return
		}
		if clientSecret, err = url.QueryUnescape(clientSecret); err != nil {
			s.tokenErr(w, errInvalidRequest, "client_secret improperly encoded", http.StatusBadRequest)
			return
		}
	} else {
		clientID = r.PostFormValue("client_id")
		clientSecret = r.PostFormValue("client_secret")
	}
	client, err := s.store.getClient(clientID)
	if err != nil || subtle.ConstantTimeCompare([]byte(client.Secret), []byte(clientSecret)) != 1 {
		s.tokenErr(w, errInvalidClient, "Invalid client credentials.", http.StatusUnauthorized)
		return
	}
	next(w, r, client)
}

func codeChallenge(verifier, method string) (string, bool) {
	switch method {
	case codeChallengeMethodPlain:
		return verifier, true
	case codeChallengeMethodS256:
		sum := sha256.Sum256([]byte(verifier))
		return base64.RawURLEncoding.EncodeToString(sum[:]), true
	}
	return "", false
}

// handleAuthCode is the authorization_code grant with PKCE (RFC 7636), in Dex's order of checks.
func (s *Server) handleAuthCode(w http.ResponseWriter, r *http.Request, client Client) {
	code := r.PostFormValue("code")
	redirectURI := r.PostFormValue("redirect_uri")
	if code == "" {
		s.tokenErr(w, errInvalidRequest, `Required param: code.`, http.StatusBadRequest)
		return
	}
	authCode, err := s.store.getAuthCode(code)
	if err != nil || s.now().After(authCode.Expiry) || authCode.ClientID != client.ID {
		// Dex's condition: a found but expired or foreign code gets server_error (err is nil, not ErrNotFound).
		if err != errNotFound {
			s.tokenErr(w, errServerError, "", http.StatusInternalServerError)
		} else {
			s.tokenErr(w, errInvalidGrant, "Invalid or expired code parameter.", http.StatusBadRequest)
		}
		return
	}
	challenge := authCode.PKCE.CodeChallenge
	verifier := r.PostFormValue("code_verifier")
	if mutate.On(mutate.DexPKCENoVerifier) {
		challenge, verifier = "", ""
	}
	switch {
	case verifier != "" && challenge != "":
		calculated, ok := codeChallenge(verifier, authCode.PKCE.CodeChallengeMethod)
		if !ok {
			s.tokenErr(w, errServerError, "", http.StatusInternalServerError)
			return
		}
		if calculated != challenge {
			s.tokenErr(w, errInvalidGrant, "Invalid code_verifier.", http.StatusBadRequest)
			return
		}
	case verifier != "":
		s.tokenErr(w, errInvalidRequest, "No PKCE flow started. Cannot check code_verifier.", http.StatusBadRequest)
		return
	case challenge != "":
		s.tokenErr(w, errInvalidGrant, "Expecting parameter code_verifier in PKCE flow.", http.StatusBadRequest)
		return
	}
	if authCode.RedirectURI != redirectURI {
		s.tokenErr(w, errInvalidRequest, "redirect_uri did not match URI from initial request.", http.StatusBadRequest)
		return
	}
	resp, ok := s.exchangeAuthCode(w, authCode, client)
	if !ok {
		return
	}
	s.writeAccessToken(w, resp)
}

// exchangeAuthCode mints the tokens and consumes the code. The deletion comes after minting, as in Dex, so two
// concurrent redemptions lose with 500 server_error rather than both succeeding.
func (s *Server) exchangeAuthCode(w http.ResponseWriter, authCode authCode, client Client) (*accessTokenResponse, bool) {
	accessToken, _, err := s.newAccessToken(client.ID, authCode.Claims, authCode.Scopes, authCode.Nonce, authCode.ConnectorID)
	if err != nil {
		s.tokenErr(w, errServerError, "", http.StatusInternalServerError)
		return nil, false
	}
	idToken, expiry, err := s.newIDToken(client.ID, authCode.Claims, authCode.Scopes, authCode.Nonce, accessToken, authCode.ID, authCode.ConnectorID)
	if err != nil {
		s.tokenErr(w, errServerError, "", http.StatusInternalServerError)
		return nil, false
	}
	if err := s.store.deleteAuthCode(authCode.ID); err != nil {
		s.tokenErr(w, errServerError, "", http.StatusInternalServerError)
		return nil, false
	}
	refreshToken, err := s.issueRefreshToken(authCode)
	if err != nil {
		s.tokenErr(w, errServerError, "", http.StatusInternalServerError)
		return nil, false
	}
	return s.toAccessTokenResponse(idToken, accessToken, refreshToken, expiry), true
}

// handleDeviceToken answers the device_code grant as Dex does for an unknown device code.
func (s *Server) handleDeviceToken(w http.ResponseWriter, r *http.Request) {
	if r.Form.Get("device_code") == "" {
		s.tokenErr(w, errInvalidRequest, "No device code received", http.StatusBadRequest)
		return
	}
	s.tokenErr(w, errInvalidRequest, "Invalid Device code.", http.StatusBadRequest)
}

// handleTokenExchange answers as Dex does when no connector can verify subject tokens (local and LDAP cannot).
func (s *Server) handleTokenExchange(w http.ResponseWriter, r *http.Request, _ Client) {
	switch r.Form.Get("subject_token_type") {
	case tokenTypeID, tokenTypeAccess:
	default:
		s.tokenErr(w, errRequestNotSupported, "Invalid subject_token_type.", http.StatusBadRequest)
		return
	}
	if r.Form.Get("subject_token") == "" {
		s.tokenErr(w, errInvalidRequest, "Missing subject_token", http.StatusBadRequest)
		return
	}
	s.tokenErr(w, errInvalidRequest, "Requested connector does not exist.", http.StatusBadRequest)
}

type accessTokenResponse struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type,omitempty"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int    `json:"expires_in,omitempty"`
	RefreshToken    string `json:"refresh_token,omitempty"`
	IDToken         string `json:"id_token,omitempty"`
	Scope           string `json:"scope,omitempty"`
}

func (s *Server) toAccessTokenResponse(idToken, accessToken, refreshToken string, expiry time.Time) *accessTokenResponse {
	return &accessTokenResponse{
		AccessToken:  accessToken,
		TokenType:    "bearer",
		ExpiresIn:    int(expiry.Sub(s.now()).Seconds()),
		RefreshToken: refreshToken,
		IDToken:      idToken,
	}
}

// writeAccessToken adds the cache headers RFC 6749 section 5.1 requires.
func (s *Server) writeAccessToken(w http.ResponseWriter, resp *accessTokenResponse) {
	data, err := json.Marshal(resp)
	if err != nil {
		s.tokenErr(w, errServerError, "", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	_, _ = w.Write(data)
}

// bearerPrefix is matched case-insensitively, as in handleUserInfo.
const bearerPrefix = "Bearer "

func bearerToken(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	if len(auth) < len(bearerPrefix) || !strings.EqualFold(bearerPrefix, auth[:len(bearerPrefix)]) {
		return "", false
	}
	return auth[len(bearerPrefix):], true
}
