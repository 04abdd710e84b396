package slapd_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/slapd"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/ldapserver"
)

// requireSlapd skips without slapd, unless CI says it must be there (KFP_AUTHCHECK_REQUIRE_SLAPD=1).
func requireSlapd(t *testing.T) {
	t.Helper()
	if !slapd.Installed() {
		if os.Getenv("KFP_AUTHCHECK_REQUIRE_SLAPD") == "1" {
			t.Fatal(slapd.ErrNotInstalled)
		}
		t.Skip(slapd.ErrNotInstalled)
	}
}

// query is one operation both servers must answer alike.
type query struct {
	bindDN, bindPW string
	base           string
	scope          int
	filter         string
	attrs          []string
	sizeLimit      int
}

const (
	people = "ou=people,dc=example,dc=org"
	groups = "ou=groups,dc=example,dc=org"
	dexDN  = "cn=dex,ou=services,dc=example,dc=org"
	dexPW  = "dex-bind-password"
)

var queries = []query{
	{base: people, scope: ldap.ScopeWholeSubtree, filter: "(&(objectClass=inetOrgPerson)(uid=ldapuser1))", attrs: []string{"uid", "mail", "cn", "userPassword"}},
	{base: people, scope: ldap.ScopeWholeSubtree, filter: "(&(objectClass=inetOrgPerson)(uid=LDAPUSER1))", attrs: []string{"uid"}},
	{base: people, scope: ldap.ScopeWholeSubtree, filter: "(uid=nobody)"},
	{base: people, scope: ldap.ScopeWholeSubtree, filter: "(|(uid=ldapuser1)(mail=ldapuser2@EXAMPLE.org))", attrs: []string{"mail"}},
	{base: people, scope: ldap.ScopeWholeSubtree, filter: "(&(objectClass=inetOrgPerson)(!(uid=ldapbig)))", attrs: []string{"uid"}},
	{base: people, scope: ldap.ScopeWholeSubtree, filter: "(cn=ldap user*)", attrs: []string{"cn"}},
	{base: people, scope: ldap.ScopeWholeSubtree, filter: "(cn=*User*One)", attrs: []string{"cn"}},
	{base: people, scope: ldap.ScopeWholeSubtree, filter: "(mail=*@example.org)", attrs: []string{"1.1"}},
	{base: people, scope: ldap.ScopeWholeSubtree, filter: "(sn=*)", attrs: []string{"sn"}},
	{base: people, scope: ldap.ScopeWholeSubtree, filter: "(telephoneNumber=*)"},
	{base: "dc=example,dc=org", scope: ldap.ScopeSingleLevel, filter: "(objectClass=*)", attrs: []string{"ou"}},
	{base: "dc=example,dc=org", scope: ldap.ScopeBaseObject, filter: "(objectClass=*)", attrs: []string{"o", "dc"}},
	{base: groups, scope: ldap.ScopeWholeSubtree, filter: "(&(objectClass=groupOfNames)(member=uid=ldapuser1,ou=people,dc=example,dc=org))", attrs: []string{"cn"}},
	{base: groups, scope: ldap.ScopeWholeSubtree, filter: "(member=UID=LdapUser1, OU=People,DC=example,DC=org)", attrs: []string{"cn"}},
	{base: groups, scope: ldap.ScopeWholeSubtree, filter: "(&(objectClass=groupOfNames)(member=uid=ldapbig,ou=people,dc=example,dc=org))", attrs: []string{"cn"}},
	{base: groups, scope: ldap.ScopeWholeSubtree, filter: "(member=uid=ldapbig,ou=people,dc=example,dc=org)", attrs: []string{"cn"}, sizeLimit: 5},
	{base: groups, scope: ldap.ScopeWholeSubtree, filter: "(member=not a dn)", attrs: []string{"cn"}},
	{base: groups, scope: ldap.ScopeWholeSubtree, filter: "(!(member=not a dn))", attrs: []string{"cn"}},
	{base: people, scope: ldap.ScopeWholeSubtree, filter: "(!(telephoneNumber=1))", attrs: []string{"uid"}},
	{base: people, scope: ldap.ScopeWholeSubtree, filter: "(&)", attrs: []string{"uid"}},
	{base: people, scope: ldap.ScopeWholeSubtree, filter: "(|)", attrs: []string{"uid"}},
	{base: "ou=nowhere,dc=example,dc=org", scope: ldap.ScopeWholeSubtree, filter: "(objectClass=*)"},
	{bindDN: dexDN, bindPW: dexPW, base: people, scope: ldap.ScopeWholeSubtree, filter: "(uid=ldapuser2)", attrs: []string{"uid", "userPassword"}},
	{bindDN: dexDN, bindPW: "wrong", base: people, scope: ldap.ScopeWholeSubtree, filter: "(uid=ldapuser2)"},
	{bindDN: "uid=ghost,ou=people,dc=example,dc=org", bindPW: "x", base: people, scope: ldap.ScopeWholeSubtree, filter: "(uid=*)"},
	{bindDN: "uid=ldapuser1,ou=people,dc=example,dc=org", bindPW: "ldapuser1-password", base: people, scope: ldap.ScopeSingleLevel, filter: "(uid=ldapuser1)", attrs: []string{"mail"}},
}

// answer renders what a server did with a query: bind result, search result code, and the entries.
func answer(t *testing.T, url string, q query) string {
	t.Helper()
	conn, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	defer conn.Close()
	conn.SetTimeout(5 * time.Second)
	var b strings.Builder
	if q.bindDN != "" {
		if err := conn.Bind(q.bindDN, q.bindPW); err != nil {
			fmt.Fprintf(&b, "bind: %s\n", code(err))
			return b.String()
		}
		b.WriteString("bind: ok\n")
	}
	res, err := conn.Search(ldap.NewSearchRequest(q.base, q.scope, ldap.NeverDerefAliases, q.sizeLimit, 0, false, q.filter, q.attrs, nil))
	fmt.Fprintf(&b, "search: %s\n", code(err))
	if res == nil {
		return b.String()
	}
	// LDAP leaves the order of entries to the server (slapd's mdb walks its DN index), so compare as sets.
	var rendered []string
	for _, e := range res.Entries {
		var b strings.Builder
		fmt.Fprintf(&b, "%s\n", strings.ToLower(e.DN))
		var attrs []string
		for _, a := range e.Attributes {
			vals := append([]string(nil), a.Values...)
			sort.Strings(vals)
			attrs = append(attrs, fmt.Sprintf("  %s=%s", a.Name, strings.Join(vals, "|")))
		}
		sort.Strings(attrs)
		b.WriteString(strings.Join(attrs, "\n") + "\n")
		rendered = append(rendered, b.String())
	}
	sort.Strings(rendered)
	return b.String() + strings.Join(rendered, "")
}

func code(err error) string {
	if err == nil {
		return "ok"
	}
	if le, ok := err.(*ldap.Error); ok {
		return fmt.Sprintf("code %d", le.ResultCode)
	}
	return err.Error()
}

// TestInProcessServerAnswersLikeSlapd runs the same binds and searches against slapd and the in-process
// server, both loaded from the fixture LDIF, and wants the same answers.
func TestInProcessServerAnswersLikeSlapd(t *testing.T) {
	requireSlapd(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	real, err := slapd.Start(ctx, fixtures.DirectoryLDIF)
	if err != nil {
		t.Fatal(err)
	}
	defer real.Stop()
	entries, err := ldapserver.ParseLDIF(bytes.NewReader(fixtures.DirectoryLDIF))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := ldapserver.NewDirectory(entries)
	if err != nil {
		t.Fatal(err)
	}
	mock, err := ldapserver.Start("127.0.0.1:0", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer mock.Close()
	for i, q := range queries {
		want, got := answer(t, real.URL, q), answer(t, mock.URL(), q)
		if want != got {
			t.Errorf("query %d %s %s: slapd answered\n%s\nthe in-process server\n%s", i, q.base, q.filter, want, got)
		}
	}
}

// TestStopRemovesEverything: after Stop, the port refuses and the directory is gone.
func TestStopRemovesEverything(t *testing.T) {
	requireSlapd(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := slapd.Start(ctx, fixtures.DirectoryLDIF)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if conn, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second})); err == nil {
		conn.Close()
		t.Errorf("slapd still answers at %s after Stop", s.URL)
	}
}
