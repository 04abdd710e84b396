package oauth2proxy

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBearerTokens(t *testing.T) {
	deployKF := func(c *Config) {
		c.ClientID = "oauth2-proxy"
		c.BearerAudiencesByPath = map[string][]string{"/pipeline": {"kubeflow-pipelines-sdk"}}
	}
	cases := []struct {
		name       string
		edit       func(*Config)
		claims     map[string]any
		stranger   bool   // signed by a key not in the JWKS
		header     string // instead of "Bearer <token>"; TOKEN is replaced
		path       string
		wantStatus int
		wantUser   string
	}{
		{name: "aud is the client", claims: map[string]any{}, wantStatus: 200, wantUser: "user@example.com"},
		{name: "aud list holds the client", claims: map[string]any{"aud": []string{"x", testClientID}}, wantStatus: 200, wantUser: "user@example.com"},
		{name: "wrong aud is ignored", claims: map[string]any{"aud": "kubeflow-pipelines-sdk"}, wantStatus: 401},
		{name: "extra audience", edit: func(c *Config) { c.ExtraAudiences = []string{"kubeflow-pipelines-sdk"} },
			claims: map[string]any{"aud": "kubeflow-pipelines-sdk"}, wantStatus: 200, wantUser: "user@example.com"},
		{name: "unknown signing key", claims: map[string]any{}, stranger: true, wantStatus: 401},
		{name: "expired", claims: map[string]any{"exp": time.Now().Add(-time.Minute).Unix()}, wantStatus: 401},
		{name: "other issuer", claims: map[string]any{"iss": "https://kubernetes.default.svc"}, wantStatus: 401},
		{name: "unverified email", claims: map[string]any{"email_verified": false}, wantStatus: 401},
		{name: "no email: user from sub", claims: map[string]any{"email": nil}, wantStatus: 200, wantUser: "CiQwOGE4Njg0Yi1kYjg4"},
		{name: "bearer ignored when not enabled", edit: func(c *Config) { c.SkipJWTBearerTokens = false }, claims: map[string]any{}, wantStatus: 401},
		{name: "not a JWT", header: "Bearer not-a-jwt", wantStatus: 401},
		{name: "lowercase scheme", header: "bearer TOKEN", claims: map[string]any{}, wantStatus: 401},
		{name: "JWT as basic user", header: "Basic BASIC:x-oauth-basic", claims: map[string]any{}, wantStatus: 200, wantUser: "user@example.com"},
		{name: "deployKF client aud", edit: deployKF, claims: map[string]any{"aud": "oauth2-proxy"}, path: "/notebook/x/", wantStatus: 200, wantUser: "user@example.com"},
		{name: "deployKF SDK aud on /pipeline", edit: deployKF, claims: map[string]any{"aud": "kubeflow-pipelines-sdk"}, wantStatus: 200, wantUser: "user@example.com"},
		{name: "deployKF SDK aud elsewhere", edit: deployKF, claims: map[string]any{"aud": "kubeflow-pipelines-sdk"}, path: "/notebook/x/", wantStatus: 403},
		{name: "deployKF unknown aud", edit: deployKF, claims: map[string]any{"aud": "minio"}, wantStatus: 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.edit)
			var token string
			if tc.claims != nil {
				key, stranger := testKeys(t)
				if tc.stranger {
					key = stranger
				}
				token = h.idp.sign(key, h.idp.claims(tc.claims))
			}
			header := "Bearer " + token
			switch {
			case tc.header == "Basic BASIC:x-oauth-basic":
				header = "Basic " + base64.StdEncoding.EncodeToString([]byte(token+":x-oauth-basic"))
			case tc.header != "":
				header = strings.Replace(tc.header, "TOKEN", token, 1)
			}
			path := tc.path
			if path == "" {
				path = "/pipeline/apis/v2beta1/runs"
			}
			hits := h.upstream.hits
			r := h.get(path, http.Header{"Authorization": {header}, "Kubeflow-Userid": {"admin@example.com"}})
			if r.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %.200s", r.StatusCode, tc.wantStatus, r.body)
			}
			switch tc.wantStatus {
			case 200:
				up := h.upstream.header()
				if got := up.Get("kubeflow-userid"); got != tc.wantUser {
					t.Errorf("kubeflow-userid %q, want %q", got, tc.wantUser)
				}
				if got := up.Get("Authorization"); got != "Bearer "+token {
					t.Errorf("upstream Authorization is not the bearer ID token")
				}
			case 401:
				if r.body != "{}" || h.upstream.hits != hits {
					t.Errorf("refused bearer: body %q, upstream hits %d->%d", r.body, hits, h.upstream.hits)
				}
			case 403:
				if r.body != "Audiences in Jwt are not allowed" || h.upstream.hits != hits {
					t.Errorf("path-scoped audience elsewhere: body %q, upstream hits %d->%d", r.body, hits, h.upstream.hits)
				}
			}
		})
	}
}

func TestRefusedBearerFallsBackToTheCookie(t *testing.T) {
	h := newHarness(t, nil)
	cs := h.login(nil)
	r := h.get("/pipeline/apis/v2beta1/runs", http.Header{"Authorization": {"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln"}}, cs...)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want the cookie session to apply (jwt_session.go only logs a bad bearer)", r.StatusCode)
	}
	if got := h.upstream.header().Get("kubeflow-userid"); got != "user@example.com" {
		t.Errorf("kubeflow-userid %q", got)
	}
}
