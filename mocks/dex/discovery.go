package dex

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// discovery is handlers.go's discovery document, in Dex's field order.
type discovery struct {
	Issuer            string   `json:"issuer"`
	Auth              string   `json:"authorization_endpoint"`
	Token             string   `json:"token_endpoint"`
	Keys              string   `json:"jwks_uri"`
	UserInfo          string   `json:"userinfo_endpoint"`
	DeviceEndpoint    string   `json:"device_authorization_endpoint"`
	Introspect        string   `json:"introspection_endpoint"`
	GrantTypes        []string `json:"grant_types_supported"`
	ResponseTypes     []string `json:"response_types_supported"`
	Subjects          []string `json:"subject_types_supported"`
	IDTokenAlgs       []string `json:"id_token_signing_alg_values_supported"`
	CodeChallengeAlgs []string `json:"code_challenge_methods_supported"`
	Scopes            []string `json:"scopes_supported"`
	AuthMethods       []string `json:"token_endpoint_auth_methods_supported"`
	Claims            []string `json:"claims_supported"`
}

func (s *Server) buildDiscovery() discovery {
	d := discovery{
		Issuer:            s.issuerURL.String() + discoveryIssuerSuffix(),
		Auth:              s.absURL("/auth"),
		Token:             s.absURL("/token"),
		Keys:              s.absURL("/keys"),
		UserInfo:          s.absURL("/userinfo"),
		DeviceEndpoint:    s.absURL("/device/code"),
		Introspect:        s.absURL("/token/introspect"),
		Subjects:          []string{"public"},
		IDTokenAlgs:       []string{string(jose.RS256)},
		CodeChallengeAlgs: []string{codeChallengeMethodS256, codeChallengeMethodPlain},
		Scopes:            []string{"openid", "email", "groups", "profile", "offline_access"},
		AuthMethods:       []string{"client_secret_basic", "client_secret_post"},
		Claims: []string{
			"iss", "sub", "aud", "iat", "exp", "email", "email_verified",
			"locale", "name", "preferred_username", "at_hash",
		},
		GrantTypes: s.supportedGrantTypes,
	}
	for t := range s.supportedResponseTypes {
		d.ResponseTypes = append(d.ResponseTypes, t)
	}
	sort.Strings(d.ResponseTypes)
	return d
}

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	data, err := json.MarshalIndent(s.discovery, "", "  ")
	if err != nil {
		s.renderError(w, r, http.StatusInternalServerError, "Internal server error.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// handlePublicKeys is the JWKS, cached until the next (nominal) rotation but at least two minutes.
func (s *Server) handlePublicKeys(w http.ResponseWriter, r *http.Request) {
	data, err := json.MarshalIndent(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{s.keys.pub}}, "", "  ")
	if err != nil {
		s.renderError(w, r, http.StatusInternalServerError, "Internal server error.")
		return
	}
	maxAge := max(s.keys.nextRotation.Sub(s.now()), 2*time.Minute)
	w.Header().Set("Cache-Control", fmt.Sprintf("max-age=%d, must-revalidate", int(maxAge.Seconds())))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// discoveryIssuerSuffix is "/" under the DexDiscoveryIssuerSlash mutation: a discovery document that names an
// issuer other than the one it is served for.
func discoveryIssuerSuffix() string {
	if mutate.On(mutate.DexDiscoveryIssuerSlash) {
		return "/"
	}
	return ""
}
