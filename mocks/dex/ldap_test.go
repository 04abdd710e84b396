package dex

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/slapd"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/ldapserver"
)

// fixtureLDAP is the connector config the profiles use for fixtures/ldap/directory.ldif.
func fixtureLDAP(t *testing.T, ldapURL string) LDAPConfig {
	t.Helper()
	c := LDAPConfig{
		BindDN: "cn=dex,ou=services,dc=example,dc=org", BindPW: "dex-bind-password",
		UserSearch: LDAPUserSearch{BaseDN: "ou=people,dc=example,dc=org", Filter: "(objectClass=inetOrgPerson)",
			Username: "uid", IDAttr: "uid", EmailAttr: "mail", NameAttr: "cn", PreferredUsernameAttr: "uid"},
		GroupSearch: LDAPGroupSearch{BaseDN: "ou=groups,dc=example,dc=org", Filter: "(objectClass=groupOfNames)",
			UserMatchers: []LDAPUserMatcher{{UserAttr: "DN", GroupAttr: "member"}}, NameAttr: "cn"},
		Timeout: 2 * time.Second,
	}
	if err := c.SetURL(ldapURL); err != nil {
		t.Fatal(err)
	}
	return c
}

// slapdURL is a slapd loaded with the fixture LDIF, started once for the package by TestMain where slapd is
// installed (KFP_AUTHCHECK_LDAP_URL names another server instead); "" without one.
var slapdURL string

func TestMain(m *testing.M) {
	os.Exit(runWithSlapd(m))
}

func runWithSlapd(m *testing.M) int {
	slapdURL = os.Getenv("KFP_AUTHCHECK_LDAP_URL")
	if slapdURL == "" && slapd.Installed() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		s, err := slapd.Start(ctx, fixtures.DirectoryLDIF)
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, "start slapd:", err)
			return 1
		}
		defer s.Stop()
		slapdURL = s.URL
	}
	if slapdURL == "" && os.Getenv("KFP_AUTHCHECK_REQUIRE_SLAPD") == "1" {
		fmt.Fprintln(os.Stderr, slapd.ErrNotInstalled)
		return 1
	}
	return m.Run()
}

// ldapServers are the directories every connector test runs against: a fresh in-process server, and slapd
// where there is one.
func ldapServers(t *testing.T) map[string]string {
	t.Helper()
	entries, err := ldapserver.ParseLDIF(bytes.NewReader(fixtures.DirectoryLDIF))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := ldapserver.NewDirectory(entries)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ldapserver.Start("127.0.0.1:0", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	out := map[string]string{"in-process": s.URL()}
	if slapdURL != "" {
		out["slapd"] = slapdURL
	}
	return out
}

// forEachServer runs f as a subtest per LDAP server.
func forEachServer(t *testing.T, f func(t *testing.T, url string)) {
	for name, u := range ldapServers(t) {
		t.Run(name, func(t *testing.T) { f(t, u) })
	}
}

func newLDAP(t *testing.T, cfg LDAPConfig) PasswordConnector {
	t.Helper()
	c, err := NewLDAPConnector("ldap", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLDAPLoginMapsEntryAndGroups(t *testing.T) {
	t.Parallel()
	forEachServer(t, func(t *testing.T, u string) {
		c := newLDAP(t, fixtureLDAP(t, u))
		ctx := context.Background()
		id, ok, err := c.Login(ctx, Scopes{Groups: true}, "ldapuser1", "ldapuser1-password")
		if err != nil || !ok {
			t.Fatalf("login: ok=%v err=%v", ok, err)
		}
		if id.UserID != "ldapuser1" || id.Email != "ldapuser1@example.org" || id.Username != "LDAP User One" ||
			id.PreferredUsername != "ldapuser1" || !id.EmailVerified {
			t.Errorf("identity %+v", id)
		}
		if strings.Join(sorted(id.Groups), ",") != "kubeflow-users,team-ldap-admins" {
			t.Errorf("groups %v", id.Groups)
		}
		// Without the groups scope Dex does not search groups.
		if id, _, _ := c.Login(ctx, Scopes{}, "ldapuser1", "ldapuser1-password"); len(id.Groups) != 0 {
			t.Errorf("groups without the scope: %v", id.Groups)
		}
		big, ok, err := c.Login(ctx, Scopes{Groups: true}, "ldapbig", "ldapbig-password")
		if err != nil || !ok || len(big.Groups) != 91 {
			t.Errorf("ldapbig: ok=%v err=%v groups=%d, want 91", ok, err, len(big.Groups))
		}
	})
}

func TestLDAPLoginRefusals(t *testing.T) {
	t.Parallel()
	forEachServer(t, func(t *testing.T, u string) {
		c := newLDAP(t, fixtureLDAP(t, u))
		for _, tc := range []struct{ user, pw string }{
			{"ldapuser1", "wrong"},
			{"ldapuser1", ""},                // never sent: an empty password would be an unauthenticated bind
			{"nobody", "ldapuser1-password"}, // not found is invalid credentials, not an error
			{"ldapuser*", "ldapuser1-password"},
			{"ldapuser1)(uid=*", "x"},
		} {
			_, ok, err := c.Login(context.Background(), Scopes{Groups: true}, tc.user, tc.pw)
			if ok || err != nil {
				t.Errorf("%q: ok=%v err=%v, want invalid credentials", tc.user, ok, err)
			}
		}
	})
}

func TestLDAPWrongBindPasswordIsAnError(t *testing.T) {
	t.Parallel()
	forEachServer(t, func(t *testing.T, u string) {
		cfg := fixtureLDAP(t, u)
		cfg.BindPW = "not-the-bind-password"
		_, _, err := newLDAP(t, cfg).Login(context.Background(), Scopes{}, "ldapuser1", "ldapuser1-password")
		if err == nil || !strings.Contains(err.Error(), `ldap: initial bind for user "cn=dex,ou=services,dc=example,dc=org" failed`) ||
			!strings.Contains(err.Error(), "Invalid Credentials") {
			t.Errorf("err = %v", err)
		}
		if strings.Contains(err.Error(), cfg.BindPW) {
			t.Error("the bind password reached the error")
		}
	})
}

func TestLDAPMissingAttributeIsAnError(t *testing.T) {
	t.Parallel()
	forEachServer(t, func(t *testing.T, u string) {
		cfg := fixtureLDAP(t, u)
		cfg.UserSearch.NameAttr = "displayName"
		_, _, err := newLDAP(t, cfg).Login(context.Background(), Scopes{}, "ldapuser1", "ldapuser1-password")
		if err == nil || !strings.Contains(err.Error(), `missing following required attribute(s): ["displayName"]`) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestLDAPConfigValidation(t *testing.T) {
	t.Parallel()
	for _, cfg := range []LDAPConfig{
		{},
		{Host: "h:389"},
		{Host: "h:389", UserSearch: LDAPUserSearch{BaseDN: "dc=x"}},
		{Host: "h:389", UserSearch: LDAPUserSearch{BaseDN: "dc=x", Username: "uid", Scope: "base"}},
	} {
		if _, err := NewLDAPConnector("ldap", cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	var c LDAPConfig
	for _, bad := range []string{"http://h:1", "ldap://", "::"} {
		if err := c.SetURL(bad); err == nil {
			t.Errorf("URL %q accepted", bad)
		}
	}
}

// TestLDAPServerDown: a refused connection and a server that accepts but never answers are both errors
// within the timeout, never a hang or a false "invalid credentials".
func TestLDAPServerDown(t *testing.T) {
	t.Parallel()
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "ldap://" + refused.Addr().String()
	refused.Close()

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered, until the test ends
		}
	}()
	for name, u := range map[string]string{"refused": downURL, "silent": "ldap://" + silent.Addr().String()} {
		cfg := fixtureLDAP(t, u)
		cfg.Timeout = 300 * time.Millisecond
		start := time.Now()
		_, ok, err := newLDAP(t, cfg).Login(context.Background(), Scopes{}, "ldapuser1", "pw")
		if ok || err == nil || !strings.Contains(err.Error(), `"Network Error"`) {
			t.Errorf("%s: ok=%v err=%v", name, ok, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: took %s", name, d)
		}
		t.Logf("%s: %v", name, err)
	}
}

// TestLDAPThroughDex: the whole browser path: selection page, /auth/ldap, the Username prompt, a wrong
// password re-rendered with 401, a right one redirected with the LDAP identity in the code's claims, and a
// down server answered with 500 "Login error: ...".
func TestLDAPThroughDex(t *testing.T) {
	t.Parallel()
	forEachServer(t, func(t *testing.T, u string) {
		e := newEnv(t, twoConnectors)
		if err := e.srv.RegisterConnector("ldap", "LDAP", newLDAP(t, fixtureLDAP(t, u))); err != nil {
			t.Fatal(err)
		}
		sel := e.get("/dex/auth?" + authQuery(nil).Encode())
		mustContain(t, sel.body, "Log in with Email", "Log in with LDAP")
		if i, j := strings.Index(sel.body, "Log in with Email"), strings.Index(sel.body, "Log in with LDAP"); i > j {
			t.Error("connectors not sorted by name")
		}
		loc := e.get("/dex/auth/ldap?" + authQuery(nil).Encode()).location()
		mustContain(t, e.get(loc).body, `<label for="userid">Username</label>`)
		r := e.postForm(loc, url.Values{"login": {"ldapuser1"}, "password": {"wrong"}})
		if r.status != http.StatusUnauthorized {
			t.Errorf("wrong password: %d", r.status)
		}
		mustContain(t, r.body, "Invalid Username and password.")
		r = e.postForm(loc, url.Values{"login": {"ldapuser1"}, "password": {"ldapuser1-password"}})
		if r.status != http.StatusSeeOther || mustQuery(t, r.location()).Get("code") == "" {
			t.Fatalf("right password: %d %q", r.status, r.location())
		}

		cfg := fixtureLDAP(t, "ldap://127.0.0.1:1")
		if err := e.srv.RegisterConnector("ldap", "LDAP", newLDAP(t, cfg)); err != nil {
			t.Fatal(err)
		}
		loc = e.get("/dex/auth/ldap?" + authQuery(nil).Encode()).location()
		r = e.postForm(loc, url.Values{"login": {"ldapuser1"}, "password": {"ldapuser1-password"}})
		if r.status != http.StatusInternalServerError {
			t.Errorf("server down: %d", r.status)
		}
		mustContain(t, r.body, "Internal Server Error", "Login error: failed to connect: LDAP Result Code 200 &#34;Network Error&#34;")
	})
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
