package dex

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPConfig is the config block of Dex's ldap connector (connector/ldap Config in v2.41.1, same JSON names),
// plus Timeout, which Dex does not have.
type LDAPConfig struct {
	// Host is host:port; without a port, 389 with InsecureNoSSL and 636 otherwise, as Dex guesses.
	Host               string `json:"host"`
	InsecureNoSSL      bool   `json:"insecureNoSSL"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify"`
	StartTLS           bool   `json:"startTLS"`
	RootCAData         []byte `json:"rootCAData,omitempty"`
	// BindDN and BindPW are the service account the connector searches as; both empty is an anonymous bind.
	BindDN         string          `json:"bindDN"`
	BindPW         string          `json:"bindPW"`
	UsernamePrompt string          `json:"usernamePrompt"`
	UserSearch     LDAPUserSearch  `json:"userSearch"`
	GroupSearch    LDAPGroupSearch `json:"groupSearch"`
	// Timeout bounds each dial and each LDAP operation; default 5s. Dex v2.41.1 passes no context to go-ldap
	// and so waits go-ldap's DefaultTimeout (60s) on a silent server; a harness must not hang that long.
	Timeout time.Duration `json:"-"`
}

// LDAPUserSearch is Dex's userSearch: the entry whose Username attribute equals the login, under BaseDN.
type LDAPUserSearch struct {
	BaseDN                string `json:"baseDN"`
	Filter                string `json:"filter"`
	Username              string `json:"username"`
	Scope                 string `json:"scope"`
	IDAttr                string `json:"idAttr"`
	EmailAttr             string `json:"emailAttr"`
	NameAttr              string `json:"nameAttr"`
	PreferredUsernameAttr string `json:"preferredUsernameAttr"`
	EmailSuffix           string `json:"emailSuffix"`
}

// LDAPGroupSearch is Dex's groupSearch: one search per user matcher and user attribute value.
type LDAPGroupSearch struct {
	BaseDN       string            `json:"baseDN"`
	Filter       string            `json:"filter"`
	Scope        string            `json:"scope"`
	UserAttr     string            `json:"userAttr"`  // deprecated in Dex, still honoured
	GroupAttr    string            `json:"groupAttr"` // deprecated in Dex, still honoured
	UserMatchers []LDAPUserMatcher `json:"userMatchers"`
	NameAttr     string            `json:"nameAttr"`
}

// LDAPUserMatcher pairs a user attribute ("DN" for the entry's DN) with the group attribute that holds it.
type LDAPUserMatcher struct {
	UserAttr  string `json:"userAttr"`
	GroupAttr string `json:"groupAttr"`
}

const defaultLDAPTimeout = 5 * time.Second

// SetURL fills Host, InsecureNoSSL and StartTLS from an ldap:// or ldaps:// URL (the form the
// harness is given an LDAP server in); "?starttls" on an ldap:// URL asks for StartTLS.
func (c *LDAPConfig) SetURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("ldap URL %q: want ldap://host:port or ldaps://host:port", raw)
	}
	switch u.Scheme {
	case "ldap":
		c.InsecureNoSSL = u.RawQuery != "starttls"
		c.StartTLS = u.RawQuery == "starttls"
	case "ldaps":
		c.InsecureNoSSL, c.StartTLS = false, false
	default:
		return fmt.Errorf("ldap URL %q: scheme must be ldap or ldaps", raw)
	}
	c.Host = u.Host
	return nil
}

// ldapConnector is Dex's ldapConnector: a PasswordConnector that binds as the service account, finds the user
// entry, binds as that entry with the given password, then searches the groups.
type ldapConnector struct {
	id  string
	cfg LDAPConfig

	userScope, groupScope int
	tlsConfig             *tls.Config
}

// NewLDAPConnector validates cfg as Dex's openConnector does and returns the connector, to plug in with
// RegisterConnector.
func NewLDAPConnector(id string, cfg LDAPConfig) (PasswordConnector, error) {
	for _, f := range []struct{ name, val string }{
		{"host", cfg.Host}, {"userSearch.baseDN", cfg.UserSearch.BaseDN}, {"userSearch.username", cfg.UserSearch.Username},
	} {
		if f.val == "" {
			return nil, fmt.Errorf("ldap: missing required field %q", f.name)
		}
	}
	host, _, err := net.SplitHostPort(cfg.Host)
	if err != nil {
		host = cfg.Host
		if cfg.InsecureNoSSL {
			cfg.Host += ":389"
		} else {
			cfg.Host += ":636"
		}
	}
	tlsConfig := &tls.Config{ServerName: host, InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // Dex's insecureSkipVerify, off unless configured
	if len(cfg.RootCAData) != 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.RootCAData) {
			return nil, errors.New("ldap: no certs found in ca file")
		}
		tlsConfig.RootCAs = pool
	}
	userScope, ok := parseLDAPScope(cfg.UserSearch.Scope)
	if !ok {
		return nil, fmt.Errorf("userSearch.Scope unknown value %q", cfg.UserSearch.Scope)
	}
	groupScope, ok := parseLDAPScope(cfg.GroupSearch.Scope)
	if !ok {
		return nil, fmt.Errorf("groupSearch.Scope unknown value %q", cfg.GroupSearch.Scope)
	}
	if len(cfg.GroupSearch.UserMatchers) == 0 || cfg.GroupSearch.UserMatchers[0].UserAttr == "" {
		cfg.GroupSearch.UserMatchers = []LDAPUserMatcher{{UserAttr: cfg.GroupSearch.UserAttr, GroupAttr: cfg.GroupSearch.GroupAttr}}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultLDAPTimeout
	}
	return &ldapConnector{id: id, cfg: cfg, userScope: userScope, groupScope: groupScope, tlsConfig: tlsConfig}, nil
}

func parseLDAPScope(s string) (int, bool) {
	switch s {
	case "", "sub":
		return ldap.ScopeWholeSubtree, true
	case "one":
		return ldap.ScopeSingleLevel, true
	}
	return 0, false
}

func (c *ldapConnector) ID() string     { return c.id }
func (c *ldapConnector) Prompt() string { return c.cfg.UsernamePrompt }

// do opens a connection, binds as the service account and runs f, as Dex's ldapConnector.do does; unlike
// Dex, the dial and every operation are bounded by cfg.Timeout and by ctx.
func (c *ldapConnector) do(ctx context.Context, f func(conn *ldap.Conn) error) error {
	dialer := ldap.DialWithDialer(&net.Dialer{Timeout: c.cfg.Timeout})
	var (
		conn *ldap.Conn
		err  error
	)
	switch {
	case c.cfg.InsecureNoSSL:
		conn, err = ldap.DialURL((&url.URL{Scheme: "ldap", Host: c.cfg.Host}).String(), dialer)
	case c.cfg.StartTLS:
		conn, err = ldap.DialURL((&url.URL{Scheme: "ldap", Host: c.cfg.Host}).String(), dialer)
		if err != nil {
			return fmt.Errorf("failed to connect: %v", err)
		}
		conn.SetTimeout(c.cfg.Timeout)
		if err := conn.StartTLS(c.tlsConfig); err != nil {
			conn.Close()
			return fmt.Errorf("start TLS failed: %v", err)
		}
	default:
		conn, err = ldap.DialURL((&url.URL{Scheme: "ldaps", Host: c.cfg.Host}).String(), dialer, ldap.DialWithTLSConfig(c.tlsConfig))
	}
	if err != nil {
		return fmt.Errorf("failed to connect: %v", err)
	}
	defer conn.Close()
	conn.SetTimeout(c.cfg.Timeout)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	if c.cfg.BindDN == "" && c.cfg.BindPW == "" {
		if err := conn.UnauthenticatedBind(""); err != nil {
			return fmt.Errorf("ldap: initial anonymous bind failed: %v", err)
		}
	} else if err := conn.Bind(c.cfg.BindDN, c.cfg.BindPW); err != nil {
		return fmt.Errorf("ldap: initial bind for user %q failed: %v", c.cfg.BindDN, err)
	}
	return f(conn)
}

// getAttrs is Dex's: attribute names compare exactly; "DN" (any case) falls back to the entry's DN.
func getAttrs(e *ldap.Entry, name string) []string {
	for _, a := range e.Attributes {
		if a.Name == name {
			return a.Values
		}
	}
	if strings.ToLower(name) == "dn" {
		return []string{e.DN}
	}
	return nil
}

func getAttr(e *ldap.Entry, name string) string {
	if a := getAttrs(e, name); len(a) > 0 {
		return a[0]
	}
	return ""
}

// identityFromEntry maps the entry to claims; a missing mapped attribute is an error, as in Dex.
func (c *ldapConnector) identityFromEntry(user *ldap.Entry) (Identity, error) {
	var ident Identity
	var missing []string
	us := c.cfg.UserSearch
	if ident.UserID = getAttr(user, us.IDAttr); ident.UserID == "" {
		missing = append(missing, us.IDAttr)
	}
	if us.NameAttr != "" {
		if ident.Username = getAttr(user, us.NameAttr); ident.Username == "" {
			missing = append(missing, us.NameAttr)
		}
	}
	if us.PreferredUsernameAttr != "" {
		if ident.PreferredUsername = getAttr(user, us.PreferredUsernameAttr); ident.PreferredUsername == "" {
			missing = append(missing, us.PreferredUsernameAttr)
		}
	}
	if us.EmailSuffix != "" {
		ident.Email = ident.Username + "@" + us.EmailSuffix
	} else if ident.Email = getAttr(user, us.EmailAttr); ident.Email == "" {
		missing = append(missing, us.EmailAttr)
	}
	ident.EmailVerified = true
	if len(missing) != 0 {
		return Identity{}, fmt.Errorf("ldap: entry %q missing following required attribute(s): %q", user.DN, missing)
	}
	return ident, nil
}

// userEntry is Dex's: "(<username attr>=<escaped login>)", and'ed with the configured filter; zero entries is
// "not found", more than one an error.
func (c *ldapConnector) userEntry(conn *ldap.Conn, username string) (*ldap.Entry, bool, error) {
	us := c.cfg.UserSearch
	filter := fmt.Sprintf("(%s=%s)", us.Username, ldap.EscapeFilter(username))
	if us.Filter != "" {
		filter = fmt.Sprintf("(&%s%s)", us.Filter, filter)
	}
	attrs := []string{us.IDAttr, us.EmailAttr}
	for _, m := range c.cfg.GroupSearch.UserMatchers {
		attrs = append(attrs, m.UserAttr)
	}
	if us.NameAttr != "" {
		attrs = append(attrs, us.NameAttr)
	}
	if us.PreferredUsernameAttr != "" {
		attrs = append(attrs, us.PreferredUsernameAttr)
	}
	resp, err := conn.Search(&ldap.SearchRequest{BaseDN: us.BaseDN, Filter: filter, Scope: c.userScope, Attributes: attrs})
	if err != nil {
		return nil, false, fmt.Errorf("ldap: search with filter %q failed: %v", filter, err)
	}
	switch n := len(resp.Entries); n {
	case 0:
		return nil, false, nil
	case 1:
		return resp.Entries[0], true, nil
	default:
		return nil, false, fmt.Errorf("ldap: filter returned multiple (%d) results: %q", n, filter)
	}
}

// Login is Dex's ldapConnector.Login: an empty password is invalid without asking the server; a user not
// found, invalidCredentials (49) or constraintViolation (19) on the user bind are invalid credentials; any
// other failure is an error (Dex answers it with 500 "Login error: ...").
func (c *ldapConnector) Login(ctx context.Context, s Scopes, username, password string) (Identity, bool, error) {
	if password == "" {
		return Identity{}, false, nil
	}
	// Dex escapes here and again in userEntry; kept, so a login with filter metacharacters behaves as in Dex.
	username = ldap.EscapeFilter(username)
	var (
		incorrect bool
		user      *ldap.Entry
	)
	err := c.do(ctx, func(conn *ldap.Conn) error {
		entry, found, err := c.userEntry(conn, username)
		if err != nil {
			return err
		}
		if !found {
			incorrect = true
			return nil
		}
		user = entry
		if err := conn.Bind(user.DN, password); err != nil {
			var le *ldap.Error
			if errors.As(err, &le) && (le.ResultCode == ldap.LDAPResultInvalidCredentials || le.ResultCode == ldap.LDAPResultConstraintViolation) {
				incorrect = true
				return nil
			}
			return fmt.Errorf("ldap: failed to bind as dn %q: %v", user.DN, err)
		}
		return nil
	})
	if err != nil {
		return Identity{}, false, err
	}
	if incorrect {
		return Identity{}, false, nil
	}
	ident, err := c.identityFromEntry(user)
	if err != nil {
		return Identity{}, false, err
	}
	if s.Groups {
		groups, err := c.groups(ctx, user)
		if err != nil {
			return Identity{}, false, fmt.Errorf("ldap: failed to query groups: %v", err)
		}
		ident.Groups = groups
	}
	return ident, true, nil
}

// groups is Dex's: without groupSearch.baseDN none; else one connection and search per matcher and value,
// "(<groupAttr>=<escaped value>)" and'ed with the filter; a group without nameAttr is an error.
func (c *ldapConnector) groups(ctx context.Context, user *ldap.Entry) ([]string, error) {
	gs := c.cfg.GroupSearch
	if gs.BaseDN == "" {
		return nil, nil
	}
	var found []*ldap.Entry
	for _, m := range gs.UserMatchers {
		for _, v := range getAttrs(user, m.UserAttr) {
			filter := fmt.Sprintf("(%s=%s)", m.GroupAttr, ldap.EscapeFilter(v))
			if gs.Filter != "" {
				filter = fmt.Sprintf("(&%s%s)", gs.Filter, filter)
			}
			req := &ldap.SearchRequest{BaseDN: gs.BaseDN, Filter: filter, Scope: c.groupScope, Attributes: []string{gs.NameAttr}}
			if err := c.do(ctx, func(conn *ldap.Conn) error {
				resp, err := conn.Search(req)
				if err != nil {
					return fmt.Errorf("ldap: search failed: %v", err)
				}
				found = append(found, resp.Entries...)
				return nil
			}); err != nil {
				return nil, err
			}
		}
	}
	names := make([]string, 0, len(found))
	for _, g := range found {
		name := getAttr(g, gs.NameAttr)
		if name == "" {
			return nil, fmt.Errorf("ldap: group entity %q missing required attribute %q", g.DN, gs.NameAttr)
		}
		names = append(names, name)
	}
	return names, nil
}
