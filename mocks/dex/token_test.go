package dex

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

func (e *env) token(form url.Values, basicUser, basicPass string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.issuer()+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(basicUser, basicPass)
	}
	return e.do(req)
}

func codeForm(code string, extra url.Values) url.Values {
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {confRedirect}, "code_verifier": {verifier}}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

func wantTokenErr(t *testing.T, r response, status int, body string) {
	t.Helper()
	if r.status != status || r.body != body || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("got %d %q (%s), want %d %q", r.status, r.body, r.header.Get("Content-Type"), status, body)
	}
}

func TestTokenClientAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.StaticClients = append(c.StaticClients, Client{ID: "odd id", Secret: "s&cret", Name: "Odd", RedirectURIs: []string{confRedirect}})
	})
	const invalid = `{"error":"invalid_client","error_description":"Invalid client credentials."}`
	tests := []struct {
		name             string
		form             url.Values
		user, pass       string
		status           int
		body             string
		exchangesTheCode bool
	}{
		{"basic", nil, confClient, confSecret, 200, "", true},
		{"form", url.Values{"client_id": {confClient}, "client_secret": {confSecret}}, "", "", 200, "", true},
		// Dex's condition sends a code of another client into its server_error branch; 500 shows auth passed.
		{"basic is URL-decoded", nil, url.QueryEscape("odd id"), url.QueryEscape("s&cret"), 500, `{"error":"server_error"}`, false},
		{"wrong secret", nil, confClient, "nope", 401, invalid, false},
		{"missing secret", url.Values{"client_id": {confClient}}, "", "", 401, invalid, false},
		{"unknown client", nil, "nobody", "x", 401, invalid, false},
		{"bad basic encoding", nil, "%zz", "x", 400, `{"error":"invalid_request","error_description":"client_id improperly encoded"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := e.loginCode(authQuery(nil))
			r := e.token(codeForm(code, tt.form), tt.user, tt.pass)
			if tt.exchangesTheCode {
				if r.status != 200 {
					t.Fatalf("%d %q", r.status, r.body)
				}
				return
			}
			if tt.body == "" {
				if r.status != tt.status {
					t.Errorf("status %d %q, want %d", r.status, r.body, tt.status)
				}
				return
			}
			wantTokenErr(t, r, tt.status, tt.body)
		})
	}
}

func TestTokenPublicClientNeedsNoSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	q := url.Values{"client_id": {oobClient}, "redirect_uri": {redirectURIOOB}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {"x"}, "code_challenge": {challengeS}, "code_challenge_method": {"S256"}}
	r := e.postForm(e.startLogin(q), url.Values{"login": {testEmail}, "password": {testPassword}})
	code := oobCode(r.body)
	r = e.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"client_id": {oobClient}, "redirect_uri": {redirectURIOOB}}, "", "")
	if r.status != 200 {
		t.Fatalf("%d %q", r.status, r.body)
	}
}

func TestTokenAuthCodeErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	plain := authQuery(url.Values{"code_challenge": {"plain-verifier-plain-verifier-plain-verifier-12"}, "code_challenge_method": nil})
	noPKCE := authQuery(url.Values{"code_challenge": nil, "code_challenge_method": nil})
	tests := []struct {
		name   string
		query  url.Values
		form   url.Values
		status int
		body   string
	}{
		{"S256 ok", authQuery(nil), nil, 200, ""},
		{"plain by default ok", plain, url.Values{"code_verifier": {"plain-verifier-plain-verifier-plain-verifier-12"}}, 200, ""},
		{"no PKCE ok", noPKCE, url.Values{"code_verifier": nil}, 200, ""},
		{"wrong verifier", authQuery(nil), url.Values{"code_verifier": {"wrong"}}, 400, `{"error":"invalid_grant","error_description":"Invalid code_verifier."}`},
		{"verifier without challenge", noPKCE, nil, 400, `{"error":"invalid_request","error_description":"No PKCE flow started. Cannot check code_verifier."}`},
		{"challenge without verifier", authQuery(nil), url.Values{"code_verifier": nil}, 400, `{"error":"invalid_grant","error_description":"Expecting parameter code_verifier in PKCE flow."}`},
		{"redirect_uri mismatch", authQuery(nil), url.Values{"redirect_uri": {"/other"}}, 400, `{"error":"invalid_request","error_description":"redirect_uri did not match URI from initial request."}`},
		{"unknown code", authQuery(nil), url.Values{"code": {"nope"}}, 400, `{"error":"invalid_grant","error_description":"Invalid or expired code parameter."}`},
		{"no code", authQuery(nil), url.Values{"code": nil}, 400, `{"error":"invalid_request","error_description":"Required param: code."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.token(codeForm(e.loginCode(tt.query), tt.form), confClient, confSecret)
			if tt.status == 200 {
				if r.status != 200 {
					t.Errorf("%d %q", r.status, r.body)
				}
				return
			}
			wantTokenErr(t, r, tt.status, tt.body)
		})
	}
}

func TestTokenCodeIsSingleUseAndExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const invalidCode = `{"error":"invalid_grant","error_description":"Invalid or expired code parameter."}`
	code := e.loginCode(authQuery(nil))
	if r := e.token(codeForm(code, nil), confClient, confSecret); r.status != 200 {
		t.Fatalf("first use: %d %q", r.status, r.body)
	}
	wantTokenErr(t, e.token(codeForm(code, nil), confClient, confSecret), 400, invalidCode)

	// A failed PKCE check does not consume the code.
	code = e.loginCode(authQuery(nil))
	e.token(codeForm(code, url.Values{"code_verifier": {"wrong"}}), confClient, confSecret)
	if r := e.token(codeForm(code, nil), confClient, confSecret); r.status != 200 {
		t.Errorf("after failed PKCE: %d %q", r.status, r.body)
	}

}

func TestTokenExpiredCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AuthCodeTTL = time.Minute })
	code := e.loginCode(authQuery(nil))
	// Expired but not yet garbage-collected: Dex's condition falls into its server_error branch.
	e.clock.Advance(2 * time.Minute)
	wantTokenErr(t, e.token(codeForm(code, nil), confClient, confSecret), 500, `{"error":"server_error"}`)
	e.clock.Advance(5 * time.Minute) // collected
	wantTokenErr(t, e.token(codeForm(code, nil), confClient, confSecret), 400, `{"error":"invalid_grant","error_description":"Invalid or expired code parameter."}`)
}

func TestTokenDefaultCodeLifetime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	code := e.loginCode(authQuery(nil))
	e.clock.Advance(29 * time.Minute)
	if r := e.token(codeForm(code, nil), confClient, confSecret); r.status != 200 {
		t.Errorf("29 minutes: %d %q", r.status, r.body)
	}
	code = e.loginCode(authQuery(nil))
	e.clock.Advance(31 * time.Minute)
	if r := e.token(codeForm(code, nil), confClient, confSecret); r.status == 200 {
		t.Error("31 minutes: code still valid")
	}
}

func TestTokenEndpointMethodAndGrants(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.get("/dex/token")
	wantTokenErr(t, r, 400, `{"error":"invalid_request","error_description":"method not allowed"}`)
	tests := []struct {
		name string
		form url.Values
		auth bool
		code int
		body string
	}{
		{"unsupported grant", url.Values{"grant_type": {"client_credentials"}}, true, 400, `{"error":"unsupported_grant_type"}`},
		{"password grant not enabled", url.Values{"grant_type": {"password"}}, true, 400, `{"error":"unsupported_grant_type"}`},
		{"no grant", url.Values{}, true, 400, `{"error":"unsupported_grant_type"}`},
		{"refresh without token", url.Values{"grant_type": {"refresh_token"}}, true, 400, `{"error":"invalid_request","error_description":"No refresh token is found in request."}`},
		{"refresh unknown token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"Cg1hYmM"}}, true, 400, `{"error":"invalid_request","error_description":"Refresh token is invalid or has already been claimed by another client."}`},
		{"refresh bad client", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, false, 401, `{"error":"invalid_client","error_description":"Invalid client credentials."}`},
		{"device code missing", url.Values{"grant_type": {grantTypeDeviceCode}}, false, 400, `{"error":"invalid_request","error_description":"No device code received"}`},
		{"device code unknown", url.Values{"grant_type": {grantTypeDeviceCode}, "device_code": {"x"}}, false, 400, `{"error":"invalid_request","error_description":"Invalid Device code."}`},
		{"token exchange bad type", url.Values{"grant_type": {grantTypeTokenExchange}}, true, 400, `{"error":"request_not_supported","error_description":"Invalid subject_token_type."}`},
		{"token exchange no connector", url.Values{"grant_type": {grantTypeTokenExchange}, "subject_token_type": {tokenTypeID}, "subject_token": {"t"}, "connector_id": {"local"}}, true, 400, `{"error":"invalid_request","error_description":"Requested connector does not exist."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, pass := "", ""
			if tt.auth {
				user, pass = confClient, confSecret
			}
			wantTokenErr(t, e.token(tt.form, user, pass), tt.code, tt.body)
		})
	}
}

func TestTokenResponseAndClaims(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	code := e.loginCode(authQuery(url.Values{"nonce": {"n0nce"}}))
	r := e.token(codeForm(code, nil), confClient, confSecret)
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %v %q", r.status, r.header, r.body)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatal(err)
	}
	if body["token_type"] != "bearer" || body["expires_in"] != float64(86400) || body["refresh_token"] != nil {
		t.Errorf("body %v", body)
	}
	if !strings.HasPrefix(r.body, `{"access_token":`) {
		t.Errorf("field order %q", r.body[:20])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, e.client), e.issuer())
	if err != nil {
		t.Fatal(err)
	}
	verifierOIDC := provider.Verifier(&oidc.Config{ClientID: confClient, Now: e.clock.Now})
	idToken, err := verifierOIDC.Verify(oidc.ClientContext(ctx, e.client), body["id_token"].(string))
	if err != nil {
		t.Fatalf("verify id_token: %v", err)
	}
	if err := idToken.VerifyAccessToken(body["access_token"].(string)); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var c map[string]any
	if err := idToken.Claims(&c); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"iss": e.issuer(), "aud": confClient, "nonce": "n0nce", "email": testEmail, "email_verified": true,
		"name": "user", "iat": float64(e.clock.Now().Unix()), "exp": float64(e.clock.Now().Add(24 * time.Hour).Unix()),
		// Dex's subject for user 15841185641784 on connector local.
		"sub": "Cg4xNTg0MTE4NTY0MTc4NBIFbG9jYWw",
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("claim %s = %v, want %v", k, c[k], v)
		}
	}
	if _, ok := c["c_hash"]; !ok {
		t.Error("c_hash missing")
	}
	if _, ok := c["groups"]; ok {
		t.Error("groups present though the user has none")
	}
	jws, err := jose.ParseSigned(body["id_token"].(string), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if jws.Signatures[0].Header.KeyID != e.srv.keys.pub.KeyID {
		t.Errorf("kid %q", jws.Signatures[0].Header.KeyID)
	}
	// The access token is a JWT of this issuer too.
	if _, err := provider.Verifier(&oidc.Config{ClientID: confClient, Now: e.clock.Now}).Verify(ctx, body["access_token"].(string)); err != nil {
		t.Errorf("access token: %v", err)
	}
}

func TestSubjectEncoding(t *testing.T) {
	t.Parallel()
	raw, err := base64.RawURLEncoding.DecodeString(Subject("15841185641784", "local"))
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{0x0a, 14}, "15841185641784"...), append([]byte{0x12, 5}, "local"...)...)
	if string(raw) != string(want) {
		t.Errorf("%x, want %x", raw, want)
	}
}

func TestScopesDriveClaims(t *testing.T) {
	t.Parallel()
	e := newEnv(t, twoConnectors)
	if err := e.srv.RegisterConnector("ldap", "LDAP", stubLDAP{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		scope   string
		present []string
		absent  []string
	}{
		{"openid", nil, []string{"email", "email_verified", "groups", "name", "preferred_username"}},
		{"openid email", []string{"email", "email_verified"}, []string{"groups", "name"}},
		{"openid groups", []string{"groups"}, []string{"email", "name"}},
		{"openid profile", []string{"name", "preferred_username"}, []string{"email", "groups"}},
		{"openid federated:id", []string{"federated_claims"}, []string{"email"}},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			loc := e.get("/dex/auth/ldap?" + authQuery(url.Values{"scope": {tt.scope}}).Encode()).location()
			r := e.postForm(loc, url.Values{"login": {"jane"}, "password": {"pw"}})
			code := mustQuery(t, r.location()).Get("code")
			tok := e.token(codeForm(code, nil), confClient, confSecret)
			var body struct {
				IDToken string `json:"id_token"`
			}
			if err := json.Unmarshal([]byte(tok.body), &body); err != nil || body.IDToken == "" {
				t.Fatalf("%d %q", tok.status, tok.body)
			}
			c := unverifiedClaims(t, body.IDToken)
			for _, k := range tt.present {
				if _, ok := c[k]; !ok {
					t.Errorf("%s missing", k)
				}
			}
			for _, k := range tt.absent {
				if _, ok := c[k]; ok {
					t.Errorf("%s present", k)
				}
			}
			if c["sub"] != Subject("cn=jane", "ldap") {
				t.Errorf("sub %v", c["sub"])
			}
		})
	}
}

func TestCrossClientAudience(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.StaticClients = append(c.StaticClients, Client{ID: "peer", Secret: "p", Name: "Peer", TrustedPeers: []string{confClient}})
	})
	code := e.loginCode(authQuery(url.Values{"scope": {"openid audience:server:client_id:peer"}}))
	var body struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal([]byte(e.token(codeForm(code, nil), confClient, confSecret).body), &body); err != nil {
		t.Fatal(err)
	}
	c := unverifiedClaims(t, body.IDToken)
	aud, _ := c["aud"].([]any)
	if len(aud) != 2 || aud[0] != "peer" || aud[1] != confClient || c["azp"] != confClient {
		t.Errorf("aud %v azp %v", c["aud"], c["azp"])
	}
}

func unverifiedClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUserInfo(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	code := e.loginCode(authQuery(nil))
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(e.token(codeForm(code, nil), confClient, confSecret).body), &body); err != nil {
		t.Fatal(err)
	}
	get := func(auth string) response {
		req, _ := http.NewRequest(http.MethodGet, e.issuer()+"/userinfo", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return e.do(req)
	}
	r := get("bearer " + body.AccessToken)
	if r.status != 200 || !strings.Contains(r.body, `"email":"user@example.com"`) {
		t.Errorf("%d %q", r.status, r.body)
	}
	r = get("")
	if r.status != 401 || r.header.Get("WWW-Authenticate") != "Bearer" || r.body != `{"error":"access_denied","error_description":"Invalid bearer token."}` {
		t.Errorf("no token: %d %q", r.status, r.body)
	}
	e.clock.Advance(25 * time.Hour)
	if r := get("Bearer " + body.AccessToken); r.status != 403 || !strings.Contains(r.body, "token is expired") {
		t.Errorf("expired: %d %q", r.status, r.body)
	}
}
