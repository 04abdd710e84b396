package dexlogin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	refusedport "github.com/kfp-authcheck/kfp-authcheck/internal/refused"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

func newBrowser(t *testing.T, fs *fakeStack) *browser.Browser {
	t.Helper()
	opts := browser.Options{Timeout: 5 * time.Second}
	if fs != nil && fs.srv.TLS != nil {
		roots := x509.NewCertPool()
		roots.AddCert(fs.srv.Certificate())
		opts.TLSConfig = &tls.Config{RootCAs: roots}
	}
	b, err := browser.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// chainSummary renders a chain as "METHOD path status" lines, the golden form.
func chainSummary(chain []browser.Hop) string {
	lines := make([]string, len(chain))
	for i, h := range chain {
		lines[i] = fmt.Sprintf("%s %s %d", h.Method, h.ParsedURL().Path, h.Status)
	}
	return strings.Join(lines, "\n")
}

// cookieWorks checks the session the way a Python client uses it: a plain client sending the Cookie header.
func cookieWorks(t *testing.T, fs *fakeStack, s *Session) {
	t.Helper()
	req, _ := http.NewRequest("GET", fs.srv.URL+"/pipeline/apis/v2beta1/healthz", nil)
	req.Header.Set("Cookie", s.CookieHeader())
	resp, err := fs.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("gateway answered %d to the collected cookies %q", resp.StatusCode, cookieNames(s))
	}
}

func cookieNames(s *Session) string {
	names := make([]string, len(s.Cookies))
	for i, c := range s.Cookies {
		names[i] = c.Name
	}
	return strings.Join(names, " ")
}

func login(t *testing.T, fs *fakeStack, mutate func(*Options)) (*Session, error) {
	t.Helper()
	opts := NewOptions(fs.srv.URL+"/pipeline/", "user@example.com", "12341234")
	if mutate != nil {
		mutate(&opts)
	}
	return Login(context.Background(), newBrowser(t, fs), opts)
}

func TestSignInPagePath(t *testing.T) {
	fs := newFakeStack()
	fs.start(t, false)
	s, err := login(t, fs, nil)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if s.Entry != EntrySignInPage || s.ConnectorPageShown || s.ApprovalShown {
		t.Errorf("entry %q connectorPage %v approval %v", s.Entry, s.ConnectorPageShown, s.ApprovalShown)
	}
	golden := strings.Join([]string{
		"GET /pipeline/ 403",
		"GET /oauth2/start 302",
		"GET /dex/auth 302",
		"GET /dex/auth/local 302",
		"GET /dex/auth/local/login 200",
		"POST /dex/auth/local/login 303",
		"GET /oauth2/callback 302",
		"GET /pipeline/ 200",
	}, "\n")
	if got := chainSummary(s.Chain); got != golden {
		t.Errorf("chain:\n%s\nwant:\n%s", got, golden)
	}
	if s.Chain[1].ParsedURL().Query().Get("rd") != "/pipeline/" {
		t.Errorf("oauth2/start rd = %q, want the path /pipeline/", s.Chain[1].ParsedURL().Query().Get("rd"))
	}
	if got := cookieNames(s); got != "oauth2_proxy_kubeflow" {
		t.Errorf("cookies %q, want only the session (the CSRF cookie was cleared)", got)
	}
	cookieWorks(t, fs, s)
}

func TestDirectRedirectWithConnectorSelection(t *testing.T) {
	fs := newFakeStack()
	fs.signInPage = false
	fs.connectors = []string{"local", "ldap"}
	fs.cookieName = "_deploykf_token"
	fs.start(t, false)
	s, err := login(t, fs, func(o *Options) { o.Connector = "ldap" })
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if s.Entry != EntryRedirect || !s.ConnectorPageShown {
		t.Errorf("entry %q connectorPage %v, want redirect and the selection page", s.Entry, s.ConnectorPageShown)
	}
	golden := strings.Join([]string{
		"GET /pipeline/ 302",
		"GET /dex/auth 200",
		"GET /dex/auth/ldap 302",
		"GET /dex/auth/ldap/login 200",
		"POST /dex/auth/ldap/login 303",
		"GET /oauth2/callback 302",
		"GET /pipeline/ 200",
	}, "\n")
	if got := chainSummary(s.Chain); got != golden {
		t.Errorf("chain:\n%s\nwant:\n%s", got, golden)
	}
	if s.Chain[2].ParsedURL().Query().Get("client_id") != "kubeflow-oidc-authservice" {
		t.Error("the connector link lost the authorization query")
	}
	cookieWorks(t, fs, s)
}

func TestSelectionPageWithoutLinksIsRewritten(t *testing.T) {
	fs := newFakeStack()
	fs.connectors = []string{"ldap", "local"}
	fs.connectorsListed = false
	fs.start(t, false)
	s, err := login(t, fs, nil)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if !s.ConnectorPageShown || !strings.Contains(chainSummary(s.Chain), "GET /dex/auth/local 302") {
		t.Errorf("chain:\n%s", chainSummary(s.Chain))
	}
}

func TestConnectorNotOffered(t *testing.T) {
	fs := newFakeStack()
	fs.connectors = []string{"local", "github"}
	fs.start(t, false)
	_, err := login(t, fs, func(o *Options) { o.Connector = "ldap" })
	assertError(t, err, result.LoginFlow, "connector", 200)
	if !strings.Contains(err.Error(), "local, github") {
		t.Errorf("message %q should list the offered connectors", err)
	}

	// One connector: Dex skips the selection page and goes to that connector's login, which is the wrong one.
	fs1 := newFakeStack()
	fs1.start(t, false)
	_, err = login(t, fs1, func(o *Options) { o.Connector = "ldap" })
	assertError(t, err, result.LoginFlow, "connector", 200)
}

func TestApproval(t *testing.T) {
	fs := newFakeStack()
	fs.signInPage = false
	fs.approval = true
	fs.start(t, false)
	s, err := login(t, fs, nil)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if !s.ApprovalShown || !strings.Contains(chainSummary(s.Chain), "POST /dex/auth/local/login 303\nGET /dex/approval 200\nPOST /dex/approval 303\nGET /oauth2/callback 302") {
		t.Errorf("approval %v, chain:\n%s", s.ApprovalShown, chainSummary(s.Chain))
	}
	cookieWorks(t, fs, s)

	_, err = login(t, fs, func(o *Options) { o.Approve = false })
	assertError(t, err, result.ApprovalScreen, "approval", 200)
}

func TestWrongPassword(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusOK} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			fs := newFakeStack()
			fs.invalidStatus = status
			fs.start(t, false)
			_, err := login(t, fs, func(o *Options) { o.Password = "wrong-password" })
			assertError(t, err, result.InvalidCredentials, "login", status)
			t.Log(err)
			if strings.Contains(err.Error(), "wrong-password") {
				t.Errorf("the message leaks the password: %v", err)
			}
		})
	}
}

// TestConnectorErrors: Dex's 500 "Login error: ..." after the POST is the connector failing, not a wrong
// password: a directory that cannot be reached gets its own reason, other failures CONNECTOR_ERROR.
func TestConnectorErrors(t *testing.T) {
	for msg, want := range map[string]result.Reason{
		`failed to connect: LDAP Result Code 200 "Network Error": dial tcp 127.0.0.1:1: connect: connection refused`:                      result.DirectoryUnreachable,
		`ldap: initial bind for user "cn=dex,dc=example,dc=org" failed: LDAP Result Code 200 "Network Error": ldap: connection timed out`: result.DirectoryUnreachable,
		`ldap: initial bind for user "cn=dex,dc=example,dc=org" failed: LDAP Result Code 49 "Invalid Credentials": `:                      result.ConnectorError,
	} {
		fs := newFakeStack()
		fs.connectors = []string{"ldap", "local"}
		fs.users = map[string]string{"jane": "secret-pw"}
		fs.connectorError = msg
		fs.start(t, false)
		_, err := login(t, fs, func(o *Options) { o.Connector, o.Username, o.Password = "ldap", "jane", "secret-pw" })
		assertError(t, err, want, "login", http.StatusInternalServerError)
		if !strings.Contains(err.Error(), "Login error: ") || strings.Contains(err.Error(), "secret-pw") {
			t.Errorf("message: %v", err)
		}
	}
}

func TestSplitAndSecureCookies(t *testing.T) {
	tests := []struct {
		name      string
		tls       bool
		split     bool
		wantNames string
	}{
		{"split _0/_1", false, true, "oauth2_proxy_kubeflow_0 oauth2_proxy_kubeflow_1"},
		{"__Secure- over TLS", true, false, "__Secure-_deploykf_token"},
		{"__Secure- split over TLS", true, true, "__Secure-_deploykf_token_0 __Secure-_deploykf_token_1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeStack()
			fs.splitCookie = tt.split
			if tt.tls {
				fs.signInPage = false
				fs.cookieName = "_deploykf_token"
			}
			fs.start(t, tt.tls)
			s, err := login(t, fs, nil)
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			if got := cookieNames(s); got != tt.wantNames {
				t.Errorf("cookies %q, want %q", got, tt.wantNames)
			}
			flagged := 0
			for _, sc := range s.SetCookies {
				if strings.HasPrefix(tt.wantNames, sc.Name) && sc.HttpOnly && sc.Secure == tt.tls {
					flagged++
				}
			}
			if flagged == 0 {
				t.Errorf("SetCookies %v lack the session cookie with HttpOnly and Secure=%v", s.SetCookies, tt.tls)
			}
			cookieWorks(t, fs, s)
		})
	}
}

func TestGatewayUpgradesToHTTPS(t *testing.T) {
	fs := newFakeStack()
	fs.signInPage = false
	fs.cookieName = "_deploykf_token"
	fs.start(t, true)
	upgrade := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fs.srv.URL+r.URL.RequestURI(), http.StatusMovedPermanently)
	}))
	defer upgrade.Close()
	s, err := Login(context.Background(), newBrowser(t, fs), NewOptions(upgrade.URL+"/pipeline/", "user@example.com", "12341234"))
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if s.Entry != EntryRedirect || cookieNames(s) != "__Secure-_deploykf_token" {
		t.Errorf("entry %q cookies %q; want redirect and the https gateway's cookie", s.Entry, cookieNames(s))
	}
	cookieWorks(t, fs, s)
}

func TestStaleCSRFRestartsOnce(t *testing.T) {
	fs := newFakeStack()
	fs.failCallbacks = 1
	fs.start(t, false)
	s, err := login(t, fs, nil)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	chain := chainSummary(s.Chain)
	if strings.Count(chain, "GET /oauth2/start 302") != 2 || !strings.Contains(chain, "GET /oauth2/callback 403") {
		t.Errorf("want one restart after the 403 callback, chain:\n%s", chain)
	}
	cookieWorks(t, fs, s)

	direct := newFakeStack()
	direct.signInPage = false
	direct.failCallbacks = 1
	direct.start(t, false)
	s, err = login(t, direct, nil)
	if err != nil {
		t.Fatalf("Login with a direct-redirect gateway: %v", err)
	}
	if chain := chainSummary(s.Chain); strings.Count(chain, "GET /pipeline/ 302") != 2 {
		t.Errorf("want the restart on the start URL, chain:\n%s", chain)
	}

	fs2 := newFakeStack()
	fs2.failCallbacks = 2
	fs2.start(t, false)
	_, err = login(t, fs2, nil)
	assertError(t, err, result.LoginFlow, "callback", 403)
}

func TestUnauthorizedEntry(t *testing.T) {
	fs := newFakeStack()
	fs.start(t, false)
	opts := NewOptions(fs.srv.URL+"/pipeline/apis/v2beta1/healthz", "user@example.com", "12341234")
	s, err := Login(context.Background(), newBrowser(t, fs), opts)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if s.Entry != EntryUnauthorized {
		t.Errorf("entry %q", s.Entry)
	}
	if rd := s.Chain[1].ParsedURL().Query().Get("rd"); s.Chain[1].ParsedURL().Path != "/oauth2/start" || rd != "/pipeline/apis/v2beta1/healthz" {
		t.Errorf("second request %s rd=%q", s.Chain[1].ParsedURL().Path, rd)
	}
	if last := s.Chain[len(s.Chain)-1]; last.Status != 200 || last.ParsedURL().Path != "/pipeline/apis/v2beta1/healthz" {
		t.Errorf("ended at %d %s", last.Status, last.ParsedURL().Path)
	}
}

func TestOpenGateway(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "KFP") }))
	defer srv.Close()
	s, err := Login(context.Background(), newBrowser(t, nil), NewOptions(srv.URL+"/pipeline/", "u", "p"))
	if err != nil || s.Entry != EntryOpen || len(s.Cookies) != 0 || s.CookieHeader() != "" {
		t.Errorf("session %+v err %v, want open and no cookies", s, err)
	}
}

func TestFlowErrors(t *testing.T) {
	addr, release, err := refusedport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	refused := "http://" + addr + "/pipeline/"
	_, err = Login(context.Background(), newBrowser(t, nil), NewOptions(refused, "u", "p"))
	assertError(t, err, result.Unreachable, "start", 0)

	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }))
	defer broken.Close()
	_, err = Login(context.Background(), newBrowser(t, nil), NewOptions(broken.URL, "u", "p"))
	assertError(t, err, result.LoginFlow, "start", 500)

	// 403 that is not oauth2-proxy: /oauth2/start does not exist there.
	rbac := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "RBAC: access denied", 403) }))
	defer rbac.Close()
	_, err = Login(context.Background(), newBrowser(t, nil), NewOptions(rbac.URL+"/pipeline/", "u", "p"))
	assertError(t, err, result.LoginFlow, "oauth2-start", 403)

	_, err = Login(context.Background(), newBrowser(t, nil), Options{StartURL: "/relative", Username: "u", Password: "p"})
	assertError(t, err, result.ConfigError, "options", 0)
	_, err = Login(context.Background(), newBrowser(t, nil), Options{StartURL: "http://h/"})
	assertError(t, err, result.NoCredentials, "options", 0)
}

func assertError(t *testing.T, err error, reason result.Reason, step string, status int) {
	t.Helper()
	var le *Error
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want *dexlogin.Error", err)
	}
	if le.Reason != reason || le.Step != step || le.Status != status {
		t.Errorf("got reason %s step %q status %d (%v); want %s %q %d", le.Reason, le.Step, le.Status, err, reason, step, status)
	}
}
