package oauth2proxy

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// jwtRegex is jwt_session.go's test for "this bearer is a JWT".
var jwtRegex = regexp.MustCompile(`^ey[a-zA-Z0-9_-]*\.ey[a-zA-Z0-9_-]*\.[a-zA-Z0-9_-]+$`)

// errAudienceNotOnPath marks a bearer the proxy accepts but the gateway's JWT requirement refuses on this path
// (see Config.BearerAudiencesByPath).
var errAudienceNotOnPath = errors.New("audience accepted only on other paths")

// bearerSession mirrors the jwt_session.go loader with providers' CreateSessionFromToken: a session from a
// verified JWT in the Authorization header, or an error (which the caller logs and otherwise ignores).
func (p *Proxy) bearerSession(r *http.Request) (*session, error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return nil, nil
	}
	token, err := tokenFromHeader(header)
	if err != nil {
		return nil, err
	}
	vt, err := p.verifier.verify(r.Context(), token)
	if err != nil {
		return nil, fmt.Errorf("unable to verify bearer token: %w", err)
	}
	pathScoped := false
	if !audienceIn(vt.audience, append([]string{p.cfg.ClientID}, p.cfg.ExtraAudiences...)) {
		var err error
		if pathScoped, err = p.pathAudience(r.URL.Path, vt.audience); err != nil {
			return nil, err
		}
	}
	if err := vt.claims.checkEmailVerified(); err != nil {
		return nil, err
	}
	s := &session{
		Email: vt.claims.Email, User: vt.claims.Subject, Groups: vt.claims.groups(),
		PreferredUsername: vt.claims.PreferredUsername, IDToken: token, AccessToken: token,
		CreatedAt: p.cfg.Now(), ExpiresOn: vt.expiry,
	}
	if s.Email == "" { // as CreateSessionFromToken: a bearer may lack email
		s.Email = s.User
	}
	if pathScoped {
		return s, errAudienceNotOnPath
	}
	return s, nil
}

// pathAudience decides a bearer whose aud is neither ClientID nor an extra audience: accepted when one of its
// audiences is scoped to a prefix of path; (true, nil) when scoped only elsewhere; an error when unknown.
func (p *Proxy) pathAudience(path string, aud []string) (elsewhere bool, err error) {
	for prefix, allowed := range p.cfg.BearerAudiencesByPath {
		if audienceIn(aud, allowed) {
			if strings.HasPrefix(path, prefix) {
				return false, nil
			}
			elsewhere = true
		}
	}
	if elsewhere {
		return true, nil
	}
	return false, fmt.Errorf("unable to verify bearer token: audience %v does not match any allowed audience", aud)
}

// tokenFromHeader mirrors jwtSessionLoader.findTokenFromHeader: "Bearer <jwt>", or a JWT carried as the user
// (password empty or x-oauth-basic) or the password of "Basic".
func tokenFromHeader(header string) (string, error) {
	parts := strings.Split(header, " ")
	if len(parts) != 2 {
		return "", errors.New("invalid authorization header")
	}
	kind, value := parts[0], parts[1]
	if kind == "Bearer" && jwtRegex.MatchString(value) {
		return value, nil
	}
	if kind == "Basic" {
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return "", fmt.Errorf("invalid basic auth token: %w", err)
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return "", errors.New("invalid basic auth token: no colon")
		}
		if jwtRegex.MatchString(user) && (pass == "" || pass == "x-oauth-basic") {
			return user, nil
		}
		if !jwtRegex.MatchString(user) && jwtRegex.MatchString(pass) {
			return pass, nil
		}
		return "", errors.New("invalid basic auth token found in authorization header")
	}
	return "", errors.New("no valid bearer token found in authorization header")
}
