package oauth2proxy

import (
	"strings"
	"testing"
)

func TestNewRefusesBadConfig(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{name: "secret length", edit: func(c *Config) { c.CookieSecret = []byte("short") }, wantErr: "CookieSecret"},
		{name: "no client", edit: func(c *Config) { c.ClientID = "" }, wantErr: "ClientID"},
		{name: "same site", edit: func(c *Config) { c.CookieSameSite = "Lax" }, wantErr: "CookieSameSite"},
		{name: "api route regex", edit: func(c *Config) { c.APIRoutes = []string{"("} }, wantErr: "APIRoutes"},
		{name: "relative redeem URL", edit: func(c *Config) { c.RedeemURL = "/dex/token" }, wantErr: "RedeemURL"},
		{name: "prefix slash", edit: func(c *Config) { c.ProxyPrefix = "/oauth2/" }, wantErr: "ProxyPrefix"},
		{name: "PKCE method", edit: func(c *Config) { c.CodeChallengeMethod = "S512" }, wantErr: "CodeChallengeMethod"},
		{name: "cookie name", edit: func(c *Config) { c.CookieName = "a b" }, wantErr: "CookieName"},
		{name: "scoped audience path", edit: func(c *Config) { c.BearerAudiencesByPath = map[string][]string{"pipeline": {"x"}} }, wantErr: "BearerAudiencesByPath"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newTestClock()
			cfg := kubeflowConfig(newFakeIdP(t, clock), clock)
			tc.edit(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New: %v, want an error naming %s", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), testClientSecret) || strings.Contains(err.Error(), "7d16fee9") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestSecretBytes(t *testing.T) {
	cases := []struct {
		secret string
		want   int
	}{
		{"7d16fee92f8d11b8940b081b3f8b8acb", 24}, // Kubeflow's: valid base64 of 24 bytes, so AES-192 as in oauth2-proxy
		{"0123456789abcdef", 16},                 // not base64 of a key length: raw
		{"AAAAAAAAAAAAAAAAAAAAAA==", 16},         // base64 with padding
		{"short", 5},
	}
	for _, tc := range cases {
		if got := len(secretBytes([]byte(tc.secret))); got != tc.want {
			t.Errorf("secretBytes(%q): %d bytes, want %d", tc.secret, got, tc.want)
		}
	}
}
