package oauth2proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/oauth2"
)

// csrfLoginFailed is the message oauth2-proxy shows for a missing or mismatched CSRF cookie.
const csrfLoginFailed = "Login Failed: Unable to find a valid CSRF token. Please try again."

// callback mirrors OAuthProxy.OAuthCallback, in its order: IdP error, state, CSRF cookie, redeem, clear the
// CSRF cookie, state check, session validation (nonce), then the session cookie and a 302 to rd.
func (p *Proxy) callback(w http.ResponseWriter, r *http.Request) {
	prepareNoCache(w)
	q := r.URL.Query()
	if idpErr := q.Get("error"); idpErr != "" {
		msg := "Login Failed: The upstream identity provider returned an error: " + idpErr
		p.log.Warn("callback carries an IdP error", "error", idpErr)
		p.errorPage(w, r, http.StatusForbidden, msg)
		return
	}
	nonce, rd, ok := strings.Cut(q.Get("state"), ":")
	if !ok {
		p.log.Warn("callback state is not nonce:redirect")
		p.errorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	cookieName := p.csrfCookieName(nonce)
	csrf, err := p.loadCSRFCookie(r, cookieName)
	if err != nil {
		p.log.Warn("invalid authentication via OAuth2: unable to obtain CSRF cookie", "err", err)
		p.errorPage(w, r, http.StatusForbidden, csrfLoginFailed)
		return
	}
	s, err := p.redeem(r.Context(), q.Get("code"), csrf.CodeVerifier, p.redirectURI(r))
	if err != nil {
		p.log.Error("redeeming code during OAuth2 callback", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	p.clearCSRFCookie(w, cookieName)
	if !checkNonce(csrf.OAuthState, nonce) {
		p.log.Warn("invalid authentication via OAuth2: CSRF token mismatch, potential attack", "email", s.Email)
		p.errorPage(w, r, http.StatusForbidden, csrfLoginFailed)
		return
	}
	if err := p.validateNonce(s, csrf); err != nil {
		p.log.Warn("session validation failed", "email", s.Email, "err", err)
		p.errorPage(w, r, http.StatusForbidden, "Session validation failed")
		return
	}
	if !p.isValidRedirect(rd) {
		rd = "/"
	}
	if err := p.saveSession(w, s); err != nil {
		p.log.Error("saving session", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	p.log.Info("authenticated via OAuth2", "email", s.Email)
	http.Redirect(w, r, rd, http.StatusFound)
}

// redeem exchanges the code at RedeemURL as providers.OIDCProvider.Redeem does (golang.org/x/oauth2: client
// secret by HTTP Basic, retried in the form if Dex refuses that; code_verifier with PKCE), then verifies the ID
// token with aud = ClientID and builds the session from its claims.
func (p *Proxy) redeem(ctx context.Context, code, verifier, redirectURI string) (*session, error) {
	if code == "" {
		return nil, errors.New("missing code")
	}
	conf := oauth2.Config{
		ClientID:     p.cfg.ClientID,
		ClientSecret: p.cfg.ClientSecret,
		Endpoint:     oauth2.Endpoint{TokenURL: p.cfg.RedeemURL},
		RedirectURL:  redirectURI,
	}
	var opts []oauth2.AuthCodeOption
	if verifier != "" {
		opts = append(opts, oauth2.SetAuthURLParam("code_verifier", verifier))
	}
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.client), code, opts...)
	if err != nil {
		return nil, fmt.Errorf("token exchange failed: %w", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, errors.New("token response did not contain an id_token")
	}
	vt, err := p.verifier.verify(ctx, rawID)
	if err != nil {
		return nil, fmt.Errorf("could not verify id_token: %w", err)
	}
	if !audienceIn(vt.audience, []string{p.cfg.ClientID}) {
		return nil, fmt.Errorf("could not verify id_token: audience %v is not the client ID", vt.audience)
	}
	claims := &vt.claims
	if err := claims.checkEmailVerified(); err != nil {
		return nil, err
	}
	if claims.Email == "" {
		return nil, errors.New("neither the id_token nor the profileURL set an email")
	}
	// oauth2-proxy takes expires_on from the token response's expires_in; Dex gives the access and ID tokens
	// the same lifetime, and the ID token's exp does not depend on when the response was read.
	return &session{
		Email: claims.Email, User: claims.Subject, Groups: claims.groups(),
		PreferredUsername: claims.PreferredUsername, IDToken: rawID,
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, CreatedAt: p.cfg.Now(), ExpiresOn: vt.expiry,
	}, nil
}

// validateNonce mirrors OIDCProvider.ValidateSession's nonce check when insecure_oidc_skip_nonce is off.
func (p *Proxy) validateNonce(s *session, csrf *csrfState) error {
	if !p.cfg.OIDCNonce {
		return nil
	}
	claims, err := unverifiedClaims(s.IDToken)
	if err != nil {
		return err
	}
	got, _ := claims["nonce"].(string)
	if !checkNonce(csrf.OIDCNonce, got) {
		return errors.New("id_token nonce does not match")
	}
	return nil
}
