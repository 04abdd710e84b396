package dex

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// handlePasswordLogin is /auth/{connector}/login: GET shows password.html, POST checks the credentials.
func (s *Server) handlePasswordLogin(w http.ResponseWriter, r *http.Request) {
	authID := r.URL.Query().Get("state")
	if authID == "" {
		s.renderError(w, r, http.StatusBadRequest, "User session error.")
		return
	}
	backLink := r.URL.Query().Get("back")
	authReq, err := s.store.getAuthRequest(authID)
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, "Requested resource does not exist.")
		return
	}
	if connID := r.PathValue("connector"); connID != "" && connID != authReq.ConnectorID {
		s.renderError(w, r, http.StatusInternalServerError, "Requested resource does not exist.")
		return
	}
	conn, err := s.getConnector(authReq.ConnectorID)
	if err != nil {
		s.renderError(w, r, http.StatusInternalServerError, "Requested resource does not exist.")
		return
	}
	prompt := usernamePrompt(conn.impl)

	switch r.Method {
	case http.MethodGet:
		s.templates.renderPassword(w, r, r.URL.String(), "", prompt, false, backLink)
	case http.MethodPost:
		username := r.FormValue("login")
		password := r.FormValue("password")
		identity, ok, err := conn.impl.Login(r.Context(), parseScopes(authReq.Scopes), username, password)
		if err != nil {
			s.renderError(w, r, http.StatusInternalServerError, fmt.Sprintf("Login error: %v", err))
			return
		}
		if !ok {
			s.templates.renderPassword(w, r, r.URL.String(), username, prompt, true, backLink)
			return
		}
		redirectURL, canSkipApproval, err := s.finalizeLogin(identity, authReq)
		if err != nil {
			s.renderError(w, r, http.StatusInternalServerError, "Login error.")
			return
		}
		if canSkipApproval {
			if authReq, err = s.store.getAuthRequest(authReq.ID); err != nil {
				s.renderError(w, r, http.StatusInternalServerError, "Login error.")
				return
			}
			s.sendCodeResponse(w, r, authReq)
			return
		}
		http.Redirect(w, r, redirectURL, http.StatusSeeOther)
	default:
		s.renderError(w, r, http.StatusBadRequest, "Unsupported request method.")
	}
}

// finalizeLogin records the identity on the auth request and says where to go next: straight to the code, or
// to /approval with an HMAC that makes the URL unguessable.
func (s *Server) finalizeLogin(identity Identity, authReq authRequest) (string, bool, error) {
	c := claims{
		UserID:            identity.UserID,
		Username:          identity.Username,
		PreferredUsername: identity.PreferredUsername,
		Email:             identity.Email,
		EmailVerified:     identity.EmailVerified,
		Groups:            append([]string(nil), identity.Groups...),
	}
	err := s.store.updateAuthRequest(authReq.ID, func(a authRequest) authRequest {
		a.LoggedIn = true
		a.Claims = c
		return a
	})
	if err != nil {
		return "", false, fmt.Errorf("failed to update auth request: %w", err)
	}
	if s.skipApproval && !authReq.ForceApprovalPrompt {
		return "", true, nil
	}
	return path.Join(s.issuerURL.Path, "/approval") + "?req=" + authReq.ID + "&hmac=" + approvalHMAC(authReq), false, nil
}

// approvalHMAC is base64url (raw) of HMAC-SHA256(authReq.HMACKey, authReq.ID).
func approvalHMAC(a authRequest) string {
	h := hmac.New(sha256.New, a.HMACKey)
	h.Write([]byte(a.ID))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// handleApproval is /approval: GET shows approval.html, POST approval=approve issues the code.
func (s *Server) handleApproval(w http.ResponseWriter, r *http.Request) {
	macEncoded := r.FormValue("hmac")
	if macEncoded == "" {
		s.renderError(w, r, http.StatusUnauthorized, "Unauthorized request")
		return
	}
	mac, err := base64.RawURLEncoding.DecodeString(macEncoded)
	if err != nil {
		s.renderError(w, r, http.StatusUnauthorized, "Unauthorized request")
		return
	}
	authReq, err := s.store.getAuthRequest(r.FormValue("req"))
	if err != nil {
		s.renderError(w, r, http.StatusInternalServerError, "Database error.")
		return
	}
	if !authReq.LoggedIn {
		s.renderError(w, r, http.StatusInternalServerError, "Login process not yet finalized.")
		return
	}
	expected, _ := base64.RawURLEncoding.DecodeString(approvalHMAC(authReq))
	if !hmac.Equal(mac, expected) {
		s.renderError(w, r, http.StatusUnauthorized, "Unauthorized request")
		return
	}
	switch r.Method {
	case http.MethodGet:
		client, err := s.store.getClient(authReq.ClientID)
		if err != nil {
			s.renderError(w, r, http.StatusInternalServerError, "Failed to retrieve client.")
			return
		}
		s.templates.renderApproval(w, r, authReq.ID, authReq.Claims.Username, client.Name, authReq.Scopes)
	case http.MethodPost:
		if r.FormValue("approval") != "approve" || mutate.On(mutate.DexApprovalRejected) {
			s.renderError(w, r, http.StatusInternalServerError, "Approval rejected.")
			return
		}
		s.sendCodeResponse(w, r, authReq)
	}
}

// sendCodeResponse ends the browser part: the auth request is consumed and the code (or, for implicit and hybrid
// flows, tokens in the fragment) goes to the redirect URI, or onto the OOB page.
func (s *Server) sendCodeResponse(w http.ResponseWriter, r *http.Request, authReq authRequest) {
	if s.now().After(authReq.Expiry) {
		s.renderError(w, r, http.StatusBadRequest, "User session has expired.")
		return
	}
	if err := s.store.deleteAuthRequest(authReq.ID); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "User session error.")
		return
	}
	u, err := url.Parse(authReq.RedirectURI)
	if err != nil {
		s.renderError(w, r, http.StatusInternalServerError, "Invalid redirect URI.")
		return
	}
	var (
		implicitOrHybrid bool
		code             authCode
		idToken          string
		idTokenExpiry    time.Time
		accessToken      string
	)
	for _, responseType := range authReq.ResponseTypes {
		switch responseType {
		case responseTypeCode:
			code = authCode{
				ID:          newID(),
				ClientID:    authReq.ClientID,
				ConnectorID: authReq.ConnectorID,
				Nonce:       authReq.Nonce,
				Scopes:      authReq.Scopes,
				Claims:      authReq.Claims,
				Expiry:      s.now().Add(s.authCodeTTL),
				RedirectURI: authReq.RedirectURI,
				PKCE:        authReq.PKCE,
			}
			s.store.createAuthCode(code)
			// Implicit and hybrid flows with the OOB URI were refused earlier; this is the code flow.
			if authReq.RedirectURI == redirectURIOOB {
				s.templates.renderOOB(w, r, code.ID)
				return
			}
		case responseTypeToken:
			implicitOrHybrid = true
		case responseTypeIDToken:
			implicitOrHybrid = true
			if accessToken, _, err = s.newAccessToken(authReq.ClientID, authReq.Claims, authReq.Scopes, authReq.Nonce, authReq.ConnectorID); err != nil {
				s.tokenErr(w, errServerError, "", http.StatusInternalServerError)
				return
			}
			if idToken, idTokenExpiry, err = s.newIDToken(authReq.ClientID, authReq.Claims, authReq.Scopes, authReq.Nonce, accessToken, code.ID, authReq.ConnectorID); err != nil {
				s.tokenErr(w, errServerError, "", http.StatusInternalServerError)
				return
			}
		}
	}
	if implicitOrHybrid {
		v := url.Values{}
		v.Set("access_token", accessToken)
		v.Set("token_type", "bearer")
		v.Set("state", authReq.State)
		if idToken != "" {
			v.Set("id_token", idToken)
			if code.ID == "" {
				v.Set("expires_in", strconv.Itoa(int(idTokenExpiry.Sub(s.now()).Seconds())))
			}
		}
		if code.ID != "" {
			v.Set("code", code.ID)
		}
		u.Fragment = v.Encode()
	} else {
		q := u.Query()
		q.Set("code", code.ID)
		q.Set("state", authReq.State)
		u.RawQuery = q.Encode()
	}
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
