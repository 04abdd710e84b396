package dex

import (
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// handleAuthorization is GET /auth: jump to the chosen or only connector, else the connector-selection page.
func (s *Server) handleAuthorization(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	connectorID := r.Form.Get("connector_id")
	connectors := s.listConnectors()
	r.Form.Del("connector_id")
	connURL := url.URL{RawQuery: r.Form.Encode()}

	if connectorID != "" {
		for _, c := range connectors {
			if c.ID == connectorID {
				connURL.Path = s.absPath("/auth", url.PathEscape(c.ID))
				http.Redirect(w, r, connURL.String(), http.StatusFound)
				return
			}
		}
		s.renderError(w, r, http.StatusBadRequest, "Connector ID does not match a valid Connector")
		return
	}

	// Dex v2.41.1 has no return after this redirect, so the selection page follows the redirect's body.
	if len(connectors) == 1 && !s.alwaysShowLogin {
		connURL.Path = s.absPath("/auth", url.PathEscape(connectors[0].ID))
		http.Redirect(w, r, connURL.String(), http.StatusFound)
	}

	infos := make([]connectorInfo, len(connectors))
	for i, c := range connectors {
		connURL.Path = s.absPath("/auth", url.PathEscape(c.ID))
		infos[i] = connectorInfo{ID: c.ID, Name: c.Name, Type: c.Type, URL: template.URL(connURL.String())}
	}
	s.templates.renderLogin(w, r, infos)
}

// handleConnectorLogin is GET /auth/{connector}: validate and store the auth request, then send the browser to the
// password form.
func (s *Server) handleConnectorLogin(w http.ResponseWriter, r *http.Request) {
	authReq, authErr := s.parseAuthorizationRequest(r)
	if authErr != nil {
		if authErr.redirectURI != "" {
			authErr.redirect(w, r)
		} else {
			s.renderError(w, r, authErr.status, authErr.description)
		}
		return
	}
	connID := r.PathValue("connector")
	conn, err := s.getConnector(connID)
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, "Requested resource does not exist")
		return
	}
	if authReq.ConnectorID != "" && authReq.ConnectorID != connID {
		s.renderError(w, r, http.StatusBadRequest, "Bad connector ID")
		return
	}
	authReq.ConnectorID = connID
	authReq.Expiry = s.now().Add(s.authRequestTTL)
	s.store.createAuthRequest(*authReq)

	// The "Select another login method" link exists only when there is another method.
	backLink := ""
	if len(s.listConnectors()) > 1 {
		backLink = (&url.URL{Path: s.absPath("/auth"), RawQuery: r.Form.Encode()}).String()
	}

	if r.Method != http.MethodGet {
		s.renderError(w, r, http.StatusBadRequest, "Unsupported request method.")
		return
	}
	loginURL := url.URL{Path: s.absPath("/auth", conn.ID, "login")}
	q := loginURL.Query()
	q.Set("state", authReq.ID)
	q.Set("back", backLink)
	loginURL.RawQuery = q.Encode()
	http.Redirect(w, r, loginURL.String(), http.StatusFound)
}

// authError is Dex's displayedAuthErr (no redirectURI: an error page) or redirectedAuthErr (303 back to the client).
type authError struct {
	status      int
	state       string
	redirectURI string
	typ         string
	description string
}

// redirect is redirectedAuthErr.Handler.
func (e *authError) redirect(w http.ResponseWriter, r *http.Request) {
	v := url.Values{}
	v.Add("state", e.state)
	v.Add("error", e.typ)
	if e.description != "" {
		v.Add("error_description", e.description)
	}
	sep := "?"
	if strings.Contains(e.redirectURI, "?") {
		sep = "&"
	}
	http.Redirect(w, r, e.redirectURI+sep+v.Encode(), http.StatusSeeOther)
}

func displayedErr(status int, format string, a ...any) *authError {
	return &authError{status: status, description: fmt.Sprintf(format, a...)}
}

// parseAuthorizationRequest is oauth2.go's, check for check and in the same order.
func (s *Server) parseAuthorizationRequest(r *http.Request) (*authRequest, *authError) {
	if err := r.ParseForm(); err != nil {
		return nil, displayedErr(http.StatusBadRequest, "Failed to parse request.")
	}
	q := r.Form
	redirectURI, err := url.QueryUnescape(q.Get("redirect_uri"))
	if err != nil {
		return nil, displayedErr(http.StatusBadRequest, "No redirect_uri provided.")
	}
	clientID := q.Get("client_id")
	state := q.Get("state")
	nonce := q.Get("nonce")
	connectorID := q.Get("connector_id")
	scopes := strings.Fields(q.Get("scope"))
	responseTypes := strings.Fields(q.Get("response_type"))
	codeChallenge := q.Get("code_challenge")
	codeChallengeMethod := q.Get("code_challenge_method")
	if codeChallengeMethod == "" {
		codeChallengeMethod = codeChallengeMethodPlain
	}

	client, err := s.store.getClient(clientID)
	if err != nil {
		return nil, displayedErr(http.StatusNotFound, "Invalid client_id (%q).", clientID)
	}
	if !validateRedirectURI(client, redirectURI) {
		return nil, displayedErr(http.StatusBadRequest, "Unregistered redirect_uri (%q).", redirectURI)
	}
	if redirectURI == deviceCallbackURI && client.Public {
		redirectURI = s.issuerURL.Path + deviceCallbackURI
	}

	// From here on, errors go back to the client.
	redirected := func(typ, format string, a ...any) *authError {
		return &authError{state: state, redirectURI: redirectURI, typ: typ, description: fmt.Sprintf(format, a...)}
	}
	if connectorID != "" {
		if _, err := s.findConnector(connectorID); err != nil {
			return nil, redirected(errInvalidRequest, "Invalid ConnectorID")
		}
	}
	if q.Get("request") != "" {
		return nil, redirected(errRequestNotSupported, "Server does not support request parameter.")
	}
	if codeChallengeMethod != codeChallengeMethodS256 && codeChallengeMethod != codeChallengeMethodPlain {
		return nil, redirected(errInvalidRequest, "%s", fmt.Sprintf("Unsupported PKCE challenge method (%q).", codeChallengeMethod))
	}
	if e := s.checkScopes(clientID, scopes, redirected); e != nil {
		return nil, e
	}
	if e := s.checkResponseTypes(responseTypes, nonce, redirectURI, redirected); e != nil {
		return nil, e
	}
	return &authRequest{
		ID:                  newID(),
		ClientID:            client.ID,
		State:               state,
		Nonce:               nonce,
		ForceApprovalPrompt: q.Get("approval_prompt") == "force",
		Scopes:              scopes,
		RedirectURI:         redirectURI,
		ResponseTypes:       responseTypes,
		ConnectorID:         connectorID,
		PKCE:                pkce{CodeChallenge: codeChallenge, CodeChallengeMethod: codeChallengeMethod},
		HMACKey:             newHMACKey(),
	}, nil
}

// findConnector looks a configured connector up, implemented or not (Dex checks storage here, not opened ones).
func (s *Server) findConnector(id string) (connectorEntry, error) {
	for _, c := range s.listConnectors() {
		if c.ID == id {
			return c, nil
		}
	}
	return connectorEntry{}, errNotFound
}

type redirectedFunc func(typ, format string, a ...any) *authError

func (s *Server) checkScopes(clientID string, scopes []string, redirected redirectedFunc) *authError {
	var unrecognized, invalid []string
	hasOpenID := false
	for _, scope := range scopes {
		switch scope {
		case scopeOpenID:
			hasOpenID = true
		case scopeOfflineAccess, scopeEmail, scopeProfile, scopeGroups, scopeFederatedID:
		default:
			peerID, ok := parseCrossClientScope(scope)
			if !ok {
				unrecognized = append(unrecognized, scope)
				continue
			}
			if !s.validateCrossClientTrust(clientID, peerID) {
				invalid = append(invalid, scope)
			}
		}
	}
	switch {
	case !hasOpenID:
		return redirected(errInvalidScope, `Missing required scope(s) ["openid"].`)
	case len(unrecognized) > 0:
		return redirected(errInvalidScope, "Unrecognized scope(s) %q", unrecognized)
	case len(invalid) > 0:
		return redirected(errInvalidScope, "Client can't request scope(s) %q", invalid)
	}
	return nil
}

func (s *Server) checkResponseTypes(responseTypes []string, nonce, redirectURI string, redirected redirectedFunc) *authError {
	var code, idToken, token bool
	for _, rt := range responseTypes {
		switch rt {
		case responseTypeCode:
			code = true
		case responseTypeIDToken:
			idToken = true
		case responseTypeToken:
			token = true
		default:
			return redirected(errInvalidRequest, "Invalid response type %q", rt)
		}
		if !s.supportedResponseTypes[rt] {
			return redirected(errUnsupportedResponseType, "Unsupported response type %q", rt)
		}
	}
	switch {
	case len(responseTypes) == 0:
		return redirected(errInvalidRequest, "No response_type provided")
	case token && !code && !idToken:
		return redirected(errInvalidRequest, "Response type 'token' must be provided with type 'id_token' and/or 'code'")
	case !code && nonce == "":
		return redirected(errInvalidRequest, "Response type 'token' requires a 'nonce' value.")
	case token && redirectURI == redirectURIOOB:
		return redirected(errInvalidRequest, "%s", fmt.Sprintf("Cannot use response type 'token' with redirect_uri '%s'.", redirectURIOOB))
	}
	return nil
}

// validateRedirectURI is v2.41.1's: an exact match for any client; public clients without registered URIs also
// get the OOB URI, /device/callback and http://localhost[:port]/... (loopback IPs only from v2.45.0).
func validateRedirectURI(client Client, redirectURI string) bool {
	for _, uri := range client.RedirectURIs {
		if redirectURI == uri {
			return true
		}
	}
	if !client.Public || len(client.RedirectURIs) > 0 {
		return false
	}
	if redirectURI == redirectURIOOB || redirectURI == deviceCallbackURI {
		return true
	}
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme != "http" {
		return false
	}
	if u.Host == "localhost" {
		return true
	}
	host, _, err := net.SplitHostPort(u.Host)
	return err == nil && host == "localhost"
}
