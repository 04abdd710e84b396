// Package dexlogin signs in to a Kubeflow gateway through Dex with a username and password, the way
// kubeflow/manifests' tests/dex_login_test.py and deployKF's KFPClientManager do (WIRE-FACTS 1.6 and 2.3), and
// returns the gateway's session cookies. Unlike those scripts it tells a wrong password from a broken flow,
// picks the connector by following Dex's own links, collects cookies whatever their names, and records the
// whole redirect chain.
package dexlogin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// DefaultConnector is the ID Dex gives its static-password database (server.LocalConnector).
const DefaultConnector = "local"

// Entry values: how the gateway first answered the start URL.
const (
	EntryRedirect     = "redirect"     // 302 to Dex (deployKF, oidc-authservice)
	EntrySignInPage   = "sign-in-page" // 403 HTML sign-in page (kubeflow/manifests 1.9+)
	EntryUnauthorized = "unauthorized" // 401 (oauth2-proxy api_routes)
	EntryOpen         = "open"         // 200 without Dex: no login needed
)

// Options says where and as whom to log in.
type Options struct {
	// StartURL is where the browser starts, usually the pipeline URL, e.g. http://127.0.0.1:1234/pipeline/.
	StartURL string
	Username string
	Password string
	// Connector is the Dex connector ID, "local" (the default) or "ldap". It is chosen on Dex's selection page,
	// and a login page for another connector is an error rather than a silent wrong login.
	Connector string
	// Approve submits "Grant Access" when Dex shows its approval page; without it that page fails the login
	// with APPROVAL_SCREEN. NewOptions sets it.
	Approve bool
	// BeforeCredentials, where set, is called on Dex's login form just before the credentials are posted (the
	// auth request exists at Dex by then); an error from it ends the login. DEX-LOCAL-007 uses it to hold two
	// logins until both have reached the form, so they overlap at Dex.
	BeforeCredentials func(ctx context.Context) error
}

// NewOptions returns Options for the local connector that approve an approval page, as the Python clients do.
func NewOptions(startURL, username, password string) Options {
	return Options{StartURL: startURL, Username: username, Password: password, Connector: DefaultConnector, Approve: true}
}

// Session is a completed login.
type Session struct {
	// Cookies are every cookie the jar holds for StartURL's host after the login, whatever their names
	// (__Secure- prefixes, oauth2-proxy's _0/_1 split cookies), sorted by name.
	Cookies []*http.Cookie
	// Entry is how the gateway first answered: EntryRedirect, EntrySignInPage, EntryUnauthorized or EntryOpen.
	Entry              string
	ApprovalShown      bool
	ConnectorPageShown bool
	// Chain is every response of the login in order, redirects and the pages they led to, for golden-chain
	// comparison. URLs are raw: redact them before printing.
	Chain []browser.Hop
	// SetCookies is every Set-Cookie the login received, in order and with attributes (Secure, HttpOnly,
	// SameSite), for cookie-flag checks. Values are secrets.
	SetCookies []*http.Cookie
}

// CookieHeader is the cookies as "k=v; k2=v2", the form the Python clients pass as cookies=.
func (s *Session) CookieHeader() string {
	pairs := make([]string, len(s.Cookies))
	for i, c := range s.Cookies {
		pairs[i] = c.Name + "=" + c.Value
	}
	return strings.Join(pairs, "; ")
}

// Login runs the Dex login flow in b, starting at opts.StartURL:
//  1. GET StartURL. 200 with no Dex page in the chain: Entry "open", nothing to do. 401 or 403: go to the
//     gateway's /oauth2/start?rd=<path> (through the sign-in page's own form when it has one). A redirect chain
//     to Dex is followed.
//  2. On Dex's connector-selection page, follow the link for opts.Connector (or rewrite /auth to /auth/<c> when
//     the page lists no links), then on to /auth/<c>/login.
//  3. POST login and password to the form that has them. No redirect after the POST (401, or 200 with the form
//     again) is INVALID_CREDENTIALS; Dex's 500 "Login error: ..." is its connector failing: DIRECTORY_UNREACHABLE
//     when the directory cannot be reached, else CONNECTOR_ERROR.
//  4. On /approval, submit approval=approve (APPROVAL_SCREEN unless opts.Approve).
//  5. Back at the gateway, outside /oauth2/: collect the cookies. A 403 after the POST (stale CSRF or state)
//     restarts the flow once: from /oauth2/start after a 401 or 403 entry, else from the start URL.
//
// Failures are *Error values: transport errors carry browser.Classify's reason, anything else LOGIN_FLOW with
// the step and status (SESSION_NOT_ACCEPTED when the gateway still refuses after a completed login).
func Login(ctx context.Context, b *browser.Browser, opts Options) (*Session, error) {
	f, err := newFlow(b, opts)
	if err != nil {
		return nil, err
	}
	return f.run(ctx)
}

// Authorize drives Dex's own pages for an authorization request the caller built, as a person at a browser
// would: GET authURL (Dex's /auth), the connector choice, the password form and the approval page, until done
// accepts a page (for the OOB flow: Dex's code page), which it returns. No gateway takes part, so a page that is
// neither a Dex step nor accepted by done is a LOGIN_FLOW error, and a rejected password INVALID_CREDENTIALS.
// opts.StartURL is ignored.
func Authorize(ctx context.Context, b *browser.Browser, authURL string, opts Options, done func(*browser.Page) bool) (*browser.Page, *Session, error) {
	opts.StartURL = authURL
	f, err := newFlow(b, opts)
	if err != nil {
		return nil, nil, err
	}
	f.done = done
	page, err := f.get(ctx, "start", authURL)
	if err != nil {
		return nil, f.s, err
	}
	if _, err := f.drive(ctx, page); err != nil {
		return nil, f.s, err
	}
	return f.donePage, f.s, nil
}

// validate fills defaults and rejects options the flow cannot use.
func validate(opts *Options) (*url.URL, error) {
	if opts.Connector == "" {
		opts.Connector = DefaultConnector
	}
	if strings.ContainsAny(opts.Connector, "/?#") {
		return nil, &Error{Reason: result.ConfigError, Step: "options", Err: fmt.Errorf("connector %q is not a Dex connector ID", opts.Connector)}
	}
	start, err := url.Parse(opts.StartURL)
	if err != nil || (start.Scheme != "http" && start.Scheme != "https") || start.Host == "" {
		return nil, &Error{Reason: result.ConfigError, Step: "options", Err: errors.New("start URL must be an absolute http or https URL")}
	}
	if opts.Username == "" || opts.Password == "" {
		return nil, &Error{Reason: result.NoCredentials, Step: "options", Err: errors.New("username and password are required")}
	}
	return start, nil
}
