package components

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/istiogateway"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// AudienceByPath stands in for deployKF's Envoy jwt_authn requirement map (WIRE-FACTS.md 2.2): the extra
// audiences oauth2-proxy accepts everywhere (oidc_extra_audiences) are allowed on their path prefixes only
// (kubeflow-pipelines-sdk on /pipeline); elsewhere Envoy answers 403 "Audiences in Jwt are not allowed". The
// signature is oauth2-proxy's to verify: this only refuses, so reading the audience unverified is safe.
func AudienceByPath(g *profile.Gateway, next http.Handler) http.Handler {
	if len(g.ExtraAudiencesPaths) == 0 || len(g.ExtraAudiences) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.ContainsFunc(g.ExtraAudiencesPaths, func(p string) bool { return strings.HasPrefix(r.URL.Path, p) }) &&
			!strings.HasPrefix(r.URL.Path, g.ProxyPrefix+"/") {
			if aud, ok := bearerAudience(r.Header.Get("Authorization")); ok &&
				!slices.Contains(aud, g.ClientID) && slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(g.ExtraAudiences, a) }) {
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte("Audiences in Jwt are not allowed"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// bearerAudience reads the aud claim (a string or a list) of a "Bearer <JWT>" header without verifying it.
func bearerAudience(header string) ([]string, bool) {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return nil, false
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(parts[1]) > 64<<10 {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	var claims struct {
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(payload, &claims) != nil || len(claims.Aud) == 0 {
		return nil, false
	}
	var one string
	if json.Unmarshal(claims.Aud, &one) == nil {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(claims.Aud, &many) == nil {
		return many, true
	}
	return nil, false
}

// MeshConfig is the Istio gateway stand-in's configuration for a profile's mesh: the Dex rule's keys at
// issuerURL/keys, every other issuer's at kubeJWKSURL (the cluster's /openid/v1/jwks, which Kubeflow's
// cluster-jwks-proxy serves to istiod).
func MeshConfig(m *profile.Mesh, issuerURL, kubeJWKSURL string, client *http.Client, now func() time.Time) istiogateway.Config {
	c := istiogateway.Config{ExemptPrefixes: m.ExemptPrefixes, HTTPClient: client, Now: now}
	for _, r := range m.JWTRules {
		rule := istiogateway.JWTRule{Issuer: r.Issuer, JWKSURI: kubeJWKSURL}
		if r.Issuer == profile.DexIssuer {
			rule.Issuer, rule.JWKSURI = issuerURL, issuerURL+"/keys"
		}
		for _, h := range r.ClaimToHeaders {
			rule.OutputClaimToHeaders = append(rule.OutputClaimToHeaders, istiogateway.ClaimToHeader{Header: h.Header, Claim: h.Claim})
		}
		c.Rules = append(c.Rules, rule)
	}
	return c
}
