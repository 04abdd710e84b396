package dex

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestDiscoveryDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.get("/dex/.well-known/openid-configuration")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", r.status, r.header.Get("Content-Type"))
	}
	if !strings.HasPrefix(r.body, "{\n  \"issuer\": ") {
		t.Errorf("not indented like Dex's MarshalIndent: %q", r.body[:min(40, len(r.body))])
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	iss := e.issuer()
	want := map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/auth",
		"token_endpoint":                        iss + "/token",
		"jwks_uri":                              iss + "/keys",
		"userinfo_endpoint":                     iss + "/userinfo",
		"device_authorization_endpoint":         iss + "/device/code",
		"introspection_endpoint":                iss + "/token/introspect",
		"grant_types_supported":                 []any{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange"},
		"response_types_supported":              []any{"code"},
		"subject_types_supported":               []any{"public"},
		"id_token_signing_alg_values_supported": []any{"RS256"},
		"code_challenge_methods_supported":      []any{"S256", "plain"},
		"scopes_supported":                      []any{"openid", "email", "groups", "profile", "offline_access"},
		"token_endpoint_auth_methods_supported": []any{"client_secret_basic", "client_secret_post"},
		"claims_supported":                      []any{"iss", "sub", "aud", "iat", "exp", "email", "email_verified", "locale", "name", "preferred_username", "at_hash"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("discovery:\n got %v\nwant %v", got, want)
	}
}

func TestDiscoveryImplicitResponseTypesAddImplicitGrant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.ResponseTypes = []string{"code", "token", "id_token"} })
	var d discovery
	if err := json.Unmarshal([]byte(e.get("/dex/.well-known/openid-configuration").body), &d); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.ResponseTypes, []string{"code", "id_token", "token"}) || !contains(d.GrantTypes, "implicit") {
		t.Errorf("response types %v, grants %v", d.ResponseTypes, d.GrantTypes)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.get("/dex/keys")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d", r.status)
	}
	if got := r.header.Get("Cache-Control"); got != "max-age=21600, must-revalidate" {
		t.Errorf("Cache-Control %q", got)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(r.body), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0].Algorithm != "RS256" || set.Keys[0].Use != "sig" || len(set.Keys[0].KeyID) != 40 || !set.Keys[0].IsPublic() {
		t.Fatalf("keys %+v", set.Keys)
	}
	e.clock.Advance(7 * time.Hour) // past the nominal rotation the cache time floors at two minutes
	if got := e.get("/dex/keys").header.Get("Cache-Control"); got != "max-age=120, must-revalidate" {
		t.Errorf("Cache-Control after rotation time %q", got)
	}
}

func TestHealthzRobotsAssetsAndUnknownPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/dex/healthz", 200, "Health check passed"},
		{"/dex/robots.txt", 200, "Disallow: /"},
		{"/dex/static/main.css", 200, ".dex-container"},
		{"/dex/theme/styles.css", 200, ".theme-body"},
		{"/dex/nope", 404, "404 page not found"},
		{"/healthz", 404, "404 page not found"},
		{"/dex/auth/local/login/extra", 404, "404 page not found"},
	}
	for _, tt := range tests {
		r := e.get(tt.path)
		if r.status != tt.status || !strings.Contains(r.body, tt.body) {
			t.Errorf("GET %s: %d %q, want %d containing %q", tt.path, r.status, r.body, tt.status, tt.body)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	ok := func(c *Config) {
		c.Issuer = "http://127.0.0.1:1/dex"
		c.Connectors = []ConnectorConfig{{ID: "local", Name: "Email", Type: "local"}}
		c.SigningKey = sharedKey(t)
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"no connectors", func(c *Config) { c.Connectors = nil }, "no connectors specified"},
		{"duplicate connector", func(c *Config) { c.Connectors = append(c.Connectors, c.Connectors[0]) }, "duplicate connector"},
		{"client without name", func(c *Config) { c.StaticClients = []Client{{ID: "a", Secret: "b"}} }, "Name field is required"},
		{"client without secret", func(c *Config) { c.StaticClients = []Client{{ID: "a", Name: "A"}} }, "Secret or SecretEnv"},
		{"password not bcrypt", func(c *Config) { c.StaticPasswords = []Password{{Email: "a@b", Hash: []byte("plain")}} }, "malformed bcrypt hash"},
		{"bad response type", func(c *Config) { c.ResponseTypes = []string{"magic"} }, "unsupported response_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			ok(&c)
			tt.mutate(&c)
			_, err := New(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want error containing %q", err, tt.want)
			}
		})
	}
}
