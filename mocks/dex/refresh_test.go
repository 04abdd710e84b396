package dex

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/dexidp/dex/api/v2"
)

const (
	refreshInvalid = `{"error":"invalid_request","error_description":"Refresh token is invalid or has already been claimed by another client."}`
	refreshExpired = `{"error":"invalid_request","error_description":"Refresh token expired."}`
	refreshServer  = `{"error":"invalid_request"}`
)

var oobInput = regexp.MustCompile(`<input type="text" class="theme-form-input" value="([^"]+)" />`)

// oobCode logs in through the public client with the OOB redirect and reads the code off Dex's page.
func (e *env) oobCode(scope string) string {
	e.t.Helper()
	q := url.Values{
		"client_id": {oobClient}, "redirect_uri": {redirectURIOOB}, "response_type": {"code"}, "scope": {scope},
		"state": {"s"}, "code_challenge": {challengeS}, "code_challenge_method": {"S256"},
	}
	r := e.postForm(e.startLogin(q), url.Values{"login": {testEmail}, "password": {testPassword}})
	m := oobInput.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		e.t.Fatalf("OOB page: status %d, body %q", r.status, r.body)
	}
	return m[1]
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
}

// oobTokens redeems an OOB code as deployKF's client does: client_id in the form, no secret.
func (e *env) oobTokens(scope string) tokens {
	e.t.Helper()
	r := e.token(url.Values{"grant_type": {"authorization_code"}, "code": {e.oobCode(scope)}, "code_verifier": {verifier},
		"client_id": {oobClient}, "redirect_uri": {redirectURIOOB}}, "", "")
	return e.decodeTokens(r)
}

func (e *env) decodeTokens(r response) tokens {
	e.t.Helper()
	var tk tokens
	if r.status != http.StatusOK {
		e.t.Fatalf("token endpoint: %d %q", r.status, r.body)
	}
	if err := json.Unmarshal([]byte(r.body), &tk); err != nil {
		e.t.Fatal(err)
	}
	return tk
}

func (e *env) refresh(token string, extra url.Values) response {
	e.t.Helper()
	f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}, "client_id": {oobClient}}
	for k, v := range extra {
		f[k] = v
	}
	return e.token(f, "", "")
}

const offlineScopes = "openid email groups profile offline_access"

func TestRefreshNeedsOfflineAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	if tk := e.oobTokens("openid email"); tk.RefreshToken != "" {
		t.Errorf("refresh token issued without offline_access")
	}
	tk := e.oobTokens(offlineScopes)
	if tk.RefreshToken == "" || tk.IDToken == "" {
		t.Fatalf("no refresh or ID token with offline_access: %+v", tk)
	}
	// The token is internal.Marshal of {refresh_id, token}.
	if id, secret := unmarshalRefreshToken(tk.RefreshToken); len(id) != 25 || len(secret) != 25 {
		t.Errorf("refresh token does not decode to two storage IDs: %q %q", id, secret)
	}
}

func TestRefreshRotatesAndRefusesTheOldToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil) // no reuse interval: Dex's default
	first := e.oobTokens(offlineScopes)
	e.clock.Advance(time.Minute)
	second := e.decodeTokens(e.refresh(first.RefreshToken, nil))
	if second.RefreshToken == first.RefreshToken || second.IDToken == first.IDToken {
		t.Fatalf("refresh did not rotate")
	}
	claims := unverifiedClaims(t, second.IDToken)
	if claims["email"] != testEmail || claims["aud"] != oobClient {
		t.Errorf("refreshed ID token claims %v", claims)
	}
	wantTokenErr(t, e.refresh(first.RefreshToken, nil), 400, refreshInvalid)
	third := e.decodeTokens(e.refresh(second.RefreshToken, nil))
	if third.RefreshToken == second.RefreshToken {
		t.Errorf("second refresh did not rotate")
	}
}

func TestRefreshReuseInterval(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RefreshTokens.ReuseInterval = 30 * time.Second })
	t0 := e.oobTokens(offlineScopes).RefreshToken
	// Within the interval after the login, a refresh hands back the same token: Dex does not rotate yet.
	if got := e.decodeTokens(e.refresh(t0, nil)).RefreshToken; got != t0 {
		t.Errorf("refresh within the reuse interval rotated the token")
	}
	e.clock.Advance(31 * time.Second)
	t1 := e.decodeTokens(e.refresh(t0, nil)).RefreshToken
	if t1 == t0 {
		t.Fatal("no rotation after the reuse interval")
	}
	// The obsolete token, within the interval of the last use, yields the current token.
	e.clock.Advance(10 * time.Second)
	if got := e.decodeTokens(e.refresh(t0, nil)).RefreshToken; got != t1 {
		t.Errorf("obsolete token within the interval: got another token than the current one")
	}
	e.clock.Advance(25 * time.Second)
	wantTokenErr(t, e.refresh(t0, nil), 400, refreshInvalid)
	if t2 := e.decodeTokens(e.refresh(t1, nil)).RefreshToken; t2 == t1 || t2 == t0 {
		t.Errorf("current token after the interval did not rotate")
	}
}

func TestRefreshIdleAndAbsoluteExpiry(t *testing.T) {
	t.Parallel()
	idle := newEnv(t, func(c *Config) { c.RefreshTokens.ValidIfNotUsedFor = time.Hour })
	tk := idle.oobTokens(offlineScopes).RefreshToken
	idle.clock.Advance(59 * time.Minute)
	tk = idle.decodeTokens(idle.refresh(tk, nil)).RefreshToken // the use resets the idle clock
	idle.clock.Advance(59 * time.Minute)
	tk = idle.decodeTokens(idle.refresh(tk, nil)).RefreshToken
	idle.clock.Advance(61 * time.Minute)
	wantTokenErr(t, idle.refresh(tk, nil), 400, refreshExpired)

	abs := newEnv(t, func(c *Config) {
		c.RefreshTokens = RefreshPolicy{ValidIfNotUsedFor: 2 * time.Hour, AbsoluteLifetime: 3 * time.Hour}
	})
	tk = abs.oobTokens(offlineScopes).RefreshToken
	for range 2 {
		abs.clock.Advance(90 * time.Minute)
		tk = abs.decodeTokens(abs.refresh(tk, nil)).RefreshToken
	}
	abs.clock.Advance(time.Second)
	wantTokenErr(t, abs.refresh(tk, nil), 400, refreshExpired)
}

func TestRefreshDisabledRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RefreshTokens.DisableRotation = true })
	tk := e.oobTokens(offlineScopes).RefreshToken
	e.clock.Advance(time.Hour)
	if got := e.decodeTokens(e.refresh(tk, nil)).RefreshToken; got != tk {
		t.Errorf("rotation disabled, but the token changed")
	}
}

func TestRefreshErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.StaticClients = append(c.StaticClients, Client{ID: "other-public", Name: "x", Public: true, RedirectURIs: []string{redirectURIOOB}})
	})
	tk := e.oobTokens(offlineScopes).RefreshToken
	wantTokenErr(t, e.refresh(tk, url.Values{"client_id": {"other-public"}}), 400,
		`{"error":"invalid_grant","error_description":"Refresh token is invalid or has already been claimed by another client."}`)
	wantTokenErr(t, e.refresh(tk, url.Values{"scope": {"openid admin"}}), 400,
		`{"error":"invalid_request","error_description":"Requested scopes contain unauthorized scope(s): [\"admin\"]."}`)
	id, _ := unmarshalRefreshToken(tk)
	wantTokenErr(t, e.refresh(marshalRefreshToken(id, "guessed"), nil), 400, refreshInvalid)
	// Fewer scopes are allowed and shape the new ID token.
	narrow := e.decodeTokens(e.refresh(tk, url.Values{"scope": {"openid"}}))
	if c := unverifiedClaims(t, narrow.IDToken); c["email"] != nil {
		t.Errorf("scope openid only, but email %v", c["email"])
	}

	// A second login through the same client replaces the first login's refresh token.
	e2 := newEnv(t, nil)
	a := e2.oobTokens(offlineScopes).RefreshToken
	b := e2.oobTokens(offlineScopes).RefreshToken
	wantTokenErr(t, e2.refresh(a, nil), 400, refreshInvalid)
	e2.decodeTokens(e2.refresh(b, nil))
}

func TestRefreshOfDeletedUserIsServerError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.StaticPasswords = nil })
	ctx := rpcCtx(t)
	c := grpcClient(t, e)
	if _, err := c.CreatePassword(ctx, &api.CreatePasswordReq{Password: &api.Password{Email: testEmail,
		Hash: passwordHash(t), Username: "user", UserId: testUserID}}); err != nil {
		t.Fatal(err)
	}
	tk := e.oobTokens(offlineScopes).RefreshToken
	if _, err := c.DeletePassword(ctx, &api.DeletePasswordReq{Email: testEmail}); err != nil {
		t.Fatal(err)
	}
	wantTokenErr(t, e.refresh(tk, nil), 500, refreshServer)
}

func TestRefreshGRPCListAndRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tk := e.oobTokens(offlineScopes).RefreshToken
	ctx := rpcCtx(t)
	c := grpcClient(t, e)
	sub := Subject(testUserID, "local")
	list, err := c.ListRefresh(ctx, &api.ListRefreshReq{UserId: sub})
	if err != nil || len(list.RefreshTokens) != 1 || list.RefreshTokens[0].ClientId != oobClient {
		t.Fatalf("list: %v %v", list, err)
	}
	if rv, err := c.RevokeRefresh(ctx, &api.RevokeRefreshReq{UserId: sub, ClientId: oobClient}); err != nil || rv.NotFound {
		t.Fatalf("revoke: %v %v", rv, err)
	}
	wantTokenErr(t, e.refresh(tk, nil), 400, refreshInvalid)
}

// TestRefreshConcurrentSameToken: outside the reuse interval, exactly one of many concurrent refreshes of one
// token wins (Dex's storage transaction); the others fail.
func TestRefreshConcurrentSameToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tk := e.oobTokens(offlineScopes).RefreshToken
	e.clock.Advance(time.Minute)
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.refresh(tk, nil).status
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == http.StatusOK {
			ok++
		} else if s != http.StatusBadRequest && s != http.StatusInternalServerError {
			t.Errorf("status %d", s)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent refreshes succeeded, want 1 (%v)", ok, statuses)
	}
}
