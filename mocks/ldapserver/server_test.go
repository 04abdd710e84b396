package ldapserver

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

const testLDIF = `version: 1
# comment
dn: dc=example,dc=org
objectClass: dcObject
dc: example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: uid=jane,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: jane
cn:: SmFuZSAgRG9l
mail: jane@example.org
description: a long line that
  continues here
userPassword: jane-password

dn: cn=admins,dc=example,dc=org
objectClass: groupOfNames
cn: admins
member: uid=jane,ou=people,dc=example,dc=org
`

func start(t *testing.T, ldif string) string {
	t.Helper()
	entries, err := ParseLDIF(strings.NewReader(ldif))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := NewDirectory(entries)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start("127.0.0.1:0", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.URL()
}

func dial(t *testing.T, url string) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	c.SetTimeout(2 * time.Second)
	t.Cleanup(func() { c.Close() })
	return c
}

func search(t *testing.T, c *ldap.Conn, filter string) []string {
	t.Helper()
	res, err := c.Search(ldap.NewSearchRequest("dc=example,dc=org", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, []string{"1.1"}, nil))
	if err != nil {
		t.Fatalf("%s: %v", filter, err)
	}
	var dns []string
	for _, e := range res.Entries {
		dns = append(dns, e.DN)
	}
	return dns
}

func TestLDIF(t *testing.T) {
	entries, err := ParseLDIF(strings.NewReader(testLDIF))
	if err != nil {
		t.Fatal(err)
	}
	jane := entries[2]
	if got := jane.Get("CN"); len(got) != 1 || got[0] != "Jane  Doe" {
		t.Errorf("base64 value: %q", got)
	}
	if got := jane.Get("description"); got[0] != "a long line that continues here" {
		t.Errorf("folded value: %q", got)
	}
	for _, bad := range []string{"uid: x\n", "dn: not a dn\n", "dn: dc=x\nchangetype: add\n", "dn: dc=x\nphoto:< file:///x\n", "dn: dc=x\ncn:: !!\n"} {
		if _, err := ParseLDIF(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, err := NewDirectory([]Entry{{DN: "dc=x"}, {DN: "DC=X"}}); err == nil {
		t.Error("duplicate DN accepted")
	}
	if _, err := NewDirectory([]Entry{{DN: "dc=x"}, {DN: "uid=a,ou=missing,dc=x"}}); err == nil {
		t.Error("orphan accepted")
	}
}

func TestFilters(t *testing.T) {
	c := dial(t, start(t, testLDIF))
	jane, admins := "uid=jane,ou=people,dc=example,dc=org", "cn=admins,dc=example,dc=org"
	for filter, want := range map[string][]string{
		"(uid=JANE)":    {jane},
		"(cn=jane doe)": {jane}, // spaces are insignificant under caseIgnoreMatch
		"(&(objectClass=inetOrgPerson)(mail=jane@EXAMPLE.org))": {jane},
		"(|(uid=nobody)(cn=admins))":                            {admins},
		"(!(objectClass=inetOrgPerson))":                        {"dc=example,dc=org", "ou=people,dc=example,dc=org", admins},
		"(cn=j*d*e)":                                            {jane},
		"(cn=*oe)":                                              {jane},
		"(cn=ja*x)":                                             nil,
		"(mail=*)":                                              {jane},
		"(member=UID=jane, ou=People,dc=example,dc=org)": {admins},
		"(member=not a dn)":            nil,
		"(!(member=not a dn))":         nil, // NOT of Undefined stays Undefined
		"(member=*jane*)":              nil, // no substrings rule for DNs
		"(uid>=a)":                     nil,
		"(&)":                          {"dc=example,dc=org", "ou=people,dc=example,dc=org", jane, admins},
		"(|)":                          nil,
		"(userPassword=jane-password)": {jane},
	} {
		got := search(t, c, filter)
		if strings.Join(got, ";") != strings.Join(want, ";") {
			t.Errorf("%s: got %v, want %v", filter, got, want)
		}
	}
}

func TestBindAndRefusals(t *testing.T) {
	url := start(t, testLDIF)
	c := dial(t, url)
	code := func(err error) uint16 {
		if le, ok := err.(*ldap.Error); ok {
			return le.ResultCode
		}
		return 0
	}
	if err := c.Bind("uid=jane,ou=people,dc=example,dc=org", "wrong"); code(err) != ldap.LDAPResultInvalidCredentials {
		t.Errorf("wrong password: %v", err)
	}
	if err := c.Bind("uid=ghost,dc=example,dc=org", "x"); code(err) != ldap.LDAPResultInvalidCredentials {
		t.Errorf("unknown DN: %v", err)
	}
	if err := c.UnauthenticatedBind("uid=jane,ou=people,dc=example,dc=org"); code(err) != ldap.LDAPResultUnwillingToPerform {
		t.Errorf("DN without password: %v", err)
	}
	if err := c.Bind("uid=jane,ou=people,dc=example,dc=org", "jane-password"); err != nil {
		t.Errorf("right password: %v", err)
	}
	res, err := c.Search(ldap.NewSearchRequest("uid=jane,ou=people,dc=example,dc=org", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", nil, nil))
	if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("userPassword") != "" || res.Entries[0].GetAttributeValue("uid") != "jane" {
		t.Errorf("base search: %v %+v", err, res)
	}
	if _, err := c.Search(ldap.NewSearchRequest("ou=nowhere,dc=example,dc=org", ldap.ScopeWholeSubtree, 0, 0, 0, false, "(objectClass=*)", nil, nil)); code(err) != ldap.LDAPResultNoSuchObject {
		t.Errorf("missing base: %v", err)
	}
	if err := c.Add(ldap.NewAddRequest("cn=x,dc=example,dc=org", nil)); code(err) != ldap.LDAPResultUnwillingToPerform {
		t.Errorf("add: %v", err)
	}
	if res, err := c.Search(ldap.NewSearchRequest("dc=example,dc=org", ldap.ScopeWholeSubtree, 0, 2, 0, false, "(objectClass=*)", nil, nil)); code(err) != ldap.LDAPResultSizeLimitExceeded || res == nil || len(res.Entries) != 2 {
		t.Errorf("size limit: %v", err)
	}
}

// TestHostileFrames: an oversized or inconsistent message drops the connection without allocating for it, and
// the server keeps serving others.
func TestHostileFrames(t *testing.T) {
	url := start(t, testLDIF)
	addr := strings.TrimPrefix(url, "ldap://")
	for _, frame := range [][]byte{
		{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff},             // 2 GiB announced
		{0x30, 0x06, 0x02, 0x01, 0x01, 0x60, 0x84, 0x7f}, // a child longer than its parent
		{0x30, 0x80, 0x00, 0x00},                         // indefinite length
	} {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Write(frame); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16)
		if n, err := conn.Read(buf); err == nil {
			t.Errorf("frame % x: got %d bytes, want the connection closed", frame, n)
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("frame % x: the server kept the connection open", frame)
		}
		conn.Close()
	}
	if got := search(t, dial(t, url), "(uid=jane)"); len(got) != 1 {
		t.Errorf("server unusable after hostile frames: %v", got)
	}
}
