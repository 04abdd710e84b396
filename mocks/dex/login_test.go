package dex

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPasswordPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	loc := e.startLogin(authQuery(nil))
	r := e.get(loc)
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	escaped := strings.ReplaceAll(loc, "&", "&amp;")
	mustContain(t, r.body,
		"<title>dex</title>",
		`<form method="post" action="`+escaped+`">`,
		`<label for="userid">Email Address</label>`,
		`id="login" name="login" type="text" class="theme-form-input" placeholder="email address"`,
		`id="password" name="password" type="password"`,
		`<button tabindex="3" id="submit-login" type="submit" class="dex-btn theme-btn--primary">Login</button>`)
	if strings.Contains(r.body, "Select another login method.") || strings.Contains(r.body, "login-error") {
		t.Error("one connector: no back link and no error expected")
	}
}

func TestPasswordPageSessionErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, twoConnectors)
	loc := e.startLogin(authQuery(nil))
	state := mustQuery(t, loc).Get("state")
	tests := []struct {
		name, path string
		status     int
		body       string
	}{
		{"missing state", "/dex/auth/local/login?back=", 400, "User session error."},
		{"unknown state", "/dex/auth/local/login?state=nope", 400, "Requested resource does not exist."},
		{"other connector's request", "/dex/auth/ldap/login?state=" + state, 500, "Requested resource does not exist."},
	}
	for _, tt := range tests {
		r := e.get(tt.path)
		if r.status != tt.status || !strings.Contains(r.body, "<p>"+tt.body+"</p>") {
			t.Errorf("%s: %d %q", tt.name, r.status, r.body)
		}
	}
	r := e.get(loc)
	mustContain(t, r.body, `<a class="dex-subtle-text" href="/dex/auth?client_id=`, "Select another login method.")
}

func TestPasswordLoginInvalidCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	loc := e.startLogin(authQuery(nil))
	for _, creds := range []url.Values{
		{"login": {testEmail}, "password": {"wrong"}},
		{"login": {"nobody@example.com"}, "password": {testPassword}},
		{"login": {""}, "password": {""}},
	} {
		r := e.postForm(loc, creds)
		if r.status != http.StatusUnauthorized || r.location() != "" {
			t.Errorf("%v: status %d Location %q", creds.Get("login"), r.status, r.location())
		}
		mustContain(t, r.body, `<div id="login-error" class="dex-error-box">`, "Invalid Email Address and password.", `id="submit-login"`)
		if creds.Get("login") != "" {
			mustContain(t, r.body, `value="`+creds.Get("login")+`"`)
		}
	}
	// The auth request survives failed attempts.
	if r := e.postForm(loc, url.Values{"login": {testEmail}, "password": {testPassword}}); r.status != http.StatusSeeOther {
		t.Errorf("login after failures: %d", r.status)
	}
}

func TestPasswordLoginSkipApproval(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	loc := e.startLogin(authQuery(nil))
	// Email match is case-insensitive, as in Dex's storage.
	r := e.postForm(loc, url.Values{"login": {"User@Example.COM"}, "password": {testPassword}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("status %d body %q", r.status, r.body)
	}
	u := mustURL(t, r.location())
	if u.Path != "/oauth2/callback" || u.Host != "" || u.Query().Get("state") != "st4te" || len(u.Query().Get("code")) != 25 {
		t.Errorf("Location %q: want the relative redirect_uri with code and state", r.location())
	}
	if !strings.HasPrefix(u.RawQuery, "code=") {
		t.Errorf("query order %q", u.RawQuery)
	}
	// The auth request is consumed.
	r = e.postForm(loc, url.Values{"login": {testEmail}, "password": {testPassword}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Requested resource does not exist.") {
		t.Errorf("replay: %d %q", r.status, r.body)
	}
}

func TestPasswordLoginHashBelowMinimumCost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.StaticPasswords = []Password{{Email: testEmail, Hash: cheapHash(t), Username: "user", UserID: testUserID}}
	})
	r := e.postForm(e.startLogin(authQuery(nil)), url.Values{"login": {testEmail}, "password": {testPassword}})
	if r.status != http.StatusInternalServerError || !strings.Contains(r.body, "Login error: given hash cost = 4 does not meet minimum cost requirement = 10") {
		t.Errorf("%d %q", r.status, r.body)
	}
}

func TestOOBPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	q := url.Values{"client_id": {oobClient}, "redirect_uri": {redirectURIOOB}, "response_type": {"code"},
		"scope": {"openid email groups profile offline_access"}, "state": {"x"}, "code_challenge": {challengeS}, "code_challenge_method": {"S256"}}
	r := e.postForm(e.startLogin(q), url.Values{"login": {testEmail}, "password": {testPassword}})
	if r.status != http.StatusOK || r.location() != "" {
		t.Fatalf("status %d Location %q", r.status, r.location())
	}
	mustContain(t, r.body, `<h2 class="theme-heading">Login Successful</h2>`,
		"<p>Please copy this code, switch to your application and paste it there:</p>",
		`<input type="text" class="theme-form-input" value="`)
	if code := oobCode(r.body); len(code) != 25 {
		t.Errorf("code %q", code)
	}
}

func oobCode(body string) string {
	const marker = `<input type="text" class="theme-form-input" value="`
	i := strings.Index(body, marker)
	if i < 0 {
		return ""
	}
	rest := body[i+len(marker):]
	return rest[:strings.Index(rest, `"`)]
}

func TestApprovalScreen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
		extra  url.Values
	}{
		{"skipApprovalScreen off", func(c *Config) { c.SkipApprovalScreen = false }, nil},
		{"approval_prompt=force", nil, url.Values{"approval_prompt": {"force"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.mutate)
			r := e.postForm(e.startLogin(authQuery(tt.extra)), url.Values{"login": {testEmail}, "password": {testPassword}})
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/dex/approval?req=") {
				t.Fatalf("status %d Location %q", r.status, r.location())
			}
			approval := r.location()
			u := mustURL(t, approval)
			req, mac := u.Query().Get("req"), u.Query().Get("hmac")
			if len(mac) != 43 || !strings.HasSuffix(approval, "&hmac="+mac) {
				t.Errorf("approval URL %q", approval)
			}
			page := e.get(approval)
			if page.status != http.StatusOK {
				t.Fatalf("GET approval: %d", page.status)
			}
			mustContain(t, page.body, `<h2 class="theme-heading">Grant Access</h2>`,
				"Dex Login Application would like to:", "<li>View basic profile information</li>", "<li>View your email address</li>", "<li>View your groups</li>",
				`<input type="hidden" name="req" value="`+req+`"/>`,
				`<input type="hidden" name="approval" value="approve">`, `<span class="dex-btn-text">Grant Access</span>`,
				`<input type="hidden" name="approval" value="rejected">`, `<span class="dex-btn-text">Cancel</span>`)
			if strings.Count(page.body, `<form method="post">`) != 2 {
				t.Error("want two forms without action")
			}

			bad := []struct {
				target string
				status int
				msg    string
			}{
				{"/dex/approval?req=" + req, 401, "Unauthorized request"},
				{"/dex/approval?req=" + req + "&hmac=%%%", 401, "Unauthorized request"},
				{"/dex/approval?req=" + req + "&hmac=AAAA", 401, "Unauthorized request"},
				{"/dex/approval?req=nope&hmac=" + mac, 500, "Database error."},
			}
			for _, b := range bad {
				if r := e.get(b.target); r.status != b.status || !strings.Contains(r.body, b.msg) {
					t.Errorf("GET %s: %d %q", b.target, r.status, r.body)
				}
			}
			if r := e.postForm(approval, url.Values{"req": {req}, "approval": {"rejected"}}); r.status != 500 || !strings.Contains(r.body, "Approval rejected.") {
				t.Errorf("reject: %d %q", r.status, r.body)
			}
			r = e.postForm(approval, url.Values{"req": {req}, "approval": {"approve"}})
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/oauth2/callback?code=") {
				t.Fatalf("approve: %d %q", r.status, r.location())
			}
			if r := e.postForm(approval, url.Values{"req": {req}, "approval": {"approve"}}); r.status != 500 || !strings.Contains(r.body, "Database error.") {
				t.Errorf("second approve: %d %q", r.status, r.body)
			}
		})
	}
}

func TestApprovalBeforeLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.SkipApprovalScreen = false })
	state := mustQuery(t, e.startLogin(authQuery(nil))).Get("state")
	a, err := e.srv.store.getAuthRequest(state)
	if err != nil {
		t.Fatal(err)
	}
	r := e.get("/dex/approval?req=" + state + "&hmac=" + approvalHMAC(a))
	if r.status != 500 || !strings.Contains(r.body, "Login process not yet finalized.") {
		t.Errorf("%d %q", r.status, r.body)
	}
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AuthRequestTTL = time.Minute })
	loc := e.startLogin(authQuery(nil))
	e.clock.Advance(2 * time.Minute) // expired, but Dex's 5-minute GC has not run yet
	r := e.postForm(loc, url.Values{"login": {testEmail}, "password": {testPassword}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "User session has expired.") {
		t.Errorf("expired: %d %q", r.status, r.body)
	}
	e.clock.Advance(5 * time.Minute) // the garbage collector has removed it
	r = e.get(loc)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Requested resource does not exist.") {
		t.Errorf("collected: %d %q", r.status, r.body)
	}
}

// TestSendCodeResponseRace covers the delete that loses a race: Dex answers "User session error.".
func TestSendCodeResponseRace(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	state := mustQuery(t, e.startLogin(authQuery(nil))).Get("state")
	a, err := e.srv.store.getAuthRequest(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.store.deleteAuthRequest(state); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	e.srv.sendCodeResponse(w, httptest.NewRequest(http.MethodPost, "/dex/approval", nil), a)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "User session error.") {
		t.Errorf("%d %q", w.Code, w.Body.String())
	}
}

// stubLDAP is a PasswordConnector standing in for LDAP.
type stubLDAP struct{ fail bool }

func (stubLDAP) ID() string     { return "ldap" }
func (stubLDAP) Prompt() string { return "" }
func (l stubLDAP) Login(_ context.Context, s Scopes, username, password string) (Identity, bool, error) {
	if l.fail {
		return Identity{}, false, errors.New("ldap down")
	}
	if username != "jane" || password != "pw" {
		return Identity{}, false, nil
	}
	id := Identity{UserID: "cn=jane", Username: "Jane Doe", PreferredUsername: "jane", Email: "jane@example.com", EmailVerified: true}
	if s.Groups {
		id.Groups = []string{"admins"}
	}
	return id, true, nil
}

func TestRegisterConnector(t *testing.T) {
	t.Parallel()
	e := newEnv(t, twoConnectors)
	if err := e.srv.RegisterConnector("other", "Other", stubLDAP{}); err == nil {
		t.Error("mismatched ID accepted")
	}
	if err := e.srv.RegisterConnector("ldap", "", stubLDAP{}); err != nil {
		t.Fatal(err)
	}
	loc := mustURL(t, e.get("/dex/auth/ldap?"+authQuery(nil).Encode()).location())
	page := e.get(loc.String())
	mustContain(t, page.body, `<label for="userid">Username</label>`, `placeholder="username"`)
	r := e.postForm(loc.String(), url.Values{"login": {"jane"}, "password": {"bad"}})
	if r.status != 401 || !strings.Contains(r.body, "Invalid Username and password.") {
		t.Errorf("bad ldap password: %d", r.status)
	}
	if err := e.srv.RegisterConnector("ldap", "Corporate LDAP", stubLDAP{fail: true}); err != nil {
		t.Fatal(err)
	}
	r = e.postForm(loc.String(), url.Values{"login": {"jane"}, "password": {"pw"}})
	if r.status != 500 || !strings.Contains(r.body, "Login error: ldap down") {
		t.Errorf("connector error: %d %q", r.status, r.body)
	}
	mustContain(t, e.get("/dex/auth?"+authQuery(nil).Encode()).body, "Log in with Corporate LDAP")
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return u
}

func mustQuery(t *testing.T, s string) url.Values { return mustURL(t, s).Query() }
