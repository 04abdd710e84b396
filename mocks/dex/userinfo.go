package dex

import (
	"crypto"
	"encoding/json"
	"net/http"

	"github.com/coreos/go-oidc/v3/oidc"
)

// handleUserInfo is /userinfo: the claims of a valid token of this issuer, verified with go-oidc as Dex does,
// so the error descriptions are go-oidc's.
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	raw, ok := bearerToken(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", "Bearer")
		s.tokenErr(w, errAccessDenied, "Invalid bearer token.", http.StatusUnauthorized)
		return
	}
	keySet := &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{s.keys.pub.Key}}
	verifier := oidc.NewVerifier(s.issuerURL.String(), keySet, &oidc.Config{SkipClientIDCheck: true, Now: s.now})
	idToken, err := verifier.Verify(r.Context(), raw)
	if err != nil {
		s.tokenErr(w, errAccessDenied, err.Error(), http.StatusForbidden)
		return
	}
	var claims json.RawMessage
	if err := idToken.Claims(&claims); err != nil {
		s.tokenErr(w, errServerError, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(claims)
}
