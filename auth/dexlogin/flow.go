package dexlogin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// maxPages bounds the pages one login may visit (selection, login, approval, gateway, and one restart of each).
const maxPages = 12

// flow is one run of Login.
type flow struct {
	b     *browser.Browser
	opts  Options
	start *url.URL
	s     *Session

	// gateways are the origins the start URL was answered from before Dex (the start URL's own, and another
	// scheme or port where the gateway redirects, e.g. http to https): landing on one ends the flow.
	gateways []*url.URL
	// refusedAt is where the gateway answered 401 or 403, the page /oauth2/start?rd= is built from.
	refusedAt *url.URL

	// done, when set, ends the flow on the first page it accepts (Authorize's OOB code page); donePage is that page.
	done     func(*browser.Page) bool
	donePage *browser.Page

	step      string // where the flow is, for errors
	posted    bool   // credentials were posted in this attempt
	approved  bool   // approval was submitted in this attempt
	restarted bool   // the one restart was used
}

func newFlow(b *browser.Browser, opts Options) (*flow, error) {
	start, err := validate(&opts)
	if err != nil {
		return nil, err
	}
	b.Redactor().Add(opts.Password)
	return &flow{b: b, opts: opts, start: start, s: &Session{}}, nil
}

// run is Login's algorithm; see Login.
func (f *flow) run(ctx context.Context) (*Session, error) {
	page, err := f.get(ctx, "start", f.start.String())
	if err != nil {
		return nil, err
	}
	for _, hop := range page.Chain() {
		u := hop.ParsedURL()
		if step, _ := classifyDex(u); step != notDex {
			break
		}
		f.gateways = append(f.gateways, &url.URL{Scheme: u.Scheme, Host: u.Host})
	}
	switch {
	case f.chainReachedDex(page):
		f.s.Entry = EntryRedirect
	case page.Status == http.StatusOK:
		f.s.Entry = EntryOpen
		f.s.Cookies = f.b.HostCookies(page.URL)
		return f.s, nil
	case page.Status == http.StatusUnauthorized:
		f.s.Entry = EntryUnauthorized
		f.refusedAt = page.URL
		page, err = f.oauth2Start(ctx, page)
	case page.Status == http.StatusForbidden:
		f.s.Entry = EntrySignInPage
		f.refusedAt = page.URL
		page, err = f.oauth2Start(ctx, page)
	default:
		return nil, f.fail(result.LoginFlow, page.Status, errors.New("the gateway answered neither 200, a redirect to Dex, 401 nor 403"))
	}
	if err != nil {
		return nil, err
	}
	return f.drive(ctx, page)
}

// drive walks the pages from the first Dex page to the gateway.
func (f *flow) drive(ctx context.Context, page *browser.Page) (*Session, error) {
	for range maxPages {
		var err error
		step, connector := classifyDex(page.URL)
		if f.done != nil && f.done(page) {
			f.donePage = page
			return f.s, nil
		}
		switch {
		case f.posted && page.Status == http.StatusForbidden:
			// Stale CSRF cookie or Dex state (oauth2-proxy's callback answers 403): start again, once.
			page, err = f.restart(ctx, page)
		case step == dexSelection && page.Status == http.StatusOK:
			page, err = f.chooseConnector(ctx, page)
		case step == dexLogin && page.Status == http.StatusOK && !f.posted:
			if connector != f.opts.Connector {
				f.step = "connector"
				return nil, f.fail(result.LoginFlow, page.Status, fmt.Errorf("Dex sent the login to connector %q, not %q", connector, f.opts.Connector))
			}
			page, err = f.postCredentials(ctx, page)
		case step == dexApproval && page.Status == http.StatusOK && !f.approved:
			page, err = f.approve(ctx, page)
		case step == notDex && f.isGateway(page.URL):
			return f.atGateway(page)
		default:
			return nil, f.fail(result.LoginFlow, page.Status, fmt.Errorf("unexpected page %s", f.describe(page)))
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, f.fail(result.LoginFlow, page.Status, fmt.Errorf("no end after %d pages, last %s", maxPages, f.describe(page)))
}

// atGateway ends the flow on a gateway page: success, a restart, or an error.
func (f *flow) atGateway(page *browser.Page) (*Session, error) {
	refused := page.Status == http.StatusUnauthorized || page.Status == http.StatusForbidden
	onOAuth2 := strings.HasPrefix(page.URL.Path, "/oauth2/")
	if f.posted {
		f.step = "callback"
	}
	switch {
	case onOAuth2:
		return nil, f.fail(result.LoginFlow, page.Status, fmt.Errorf("the gateway stopped the flow at %s", page.URL.Path))
	case refused && f.posted:
		return nil, f.fail(result.SessionNotAccepted, page.Status, errors.New("the gateway refused the session after a completed login"))
	case refused:
		return nil, f.fail(result.LoginFlow, page.Status, fmt.Errorf("the gateway answered %d before any login", page.Status))
	}
	f.s.Cookies = f.b.HostCookies(page.URL)
	return f.s, nil
}

// isGateway reports whether u is on one of the gateway's origins and not under Dex's issuer path there.
func (f *flow) isGateway(u *url.URL) bool {
	if f.onDexPrefix(u) {
		return false
	}
	for _, g := range f.gateways {
		if sameOrigin(g, u) {
			return true
		}
	}
	return false
}

// oauth2Start leaves a 401 or 403 answer for oauth2-proxy's /oauth2/start. A sign-in page's own form (GET
// <prefix>/start with a hidden rd) is what a user would click; otherwise the URL is built from the gateway's
// origin and the path it answered for (the path, not the host, as the upstream script does).
func (f *flow) oauth2Start(ctx context.Context, page *browser.Page) (*browser.Page, error) {
	f.step = "oauth2-start"
	if form, ok := page.FindForm(func(fm browser.Form) bool {
		return fm.Method == http.MethodGet && path.Base(fm.Action.Path) == "start" && fm.Has("rd")
	}); ok {
		next, err := f.b.Submit(ctx, page, form, nil)
		return f.record(next, err)
	}
	return f.get(ctx, f.step, f.oauth2StartURL(page.URL))
}

// oauth2StartURL is <origin of u>/oauth2/start?rd=<path of u>.
func (f *flow) oauth2StartURL(u *url.URL) string {
	rd := u.Path
	if rd == "" {
		rd = "/"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/oauth2/start", RawQuery: url.Values{"rd": {rd}}.Encode()}).String()
}

// restart starts a fresh attempt after a 403 that followed the credentials, once.
func (f *flow) restart(ctx context.Context, page *browser.Page) (*browser.Page, error) {
	atGateway := f.isGateway(page.URL)
	if atGateway {
		f.step = "callback"
	}
	if f.restarted {
		reason := result.LoginFlow
		if atGateway && !strings.HasPrefix(page.URL.Path, "/oauth2/") {
			reason = result.SessionNotAccepted
		}
		return nil, f.fail(reason, page.Status, fmt.Errorf("403 again after a fresh attempt, at %s", f.describe(page)))
	}
	f.restarted, f.posted, f.approved = true, false, false
	if f.refusedAt != nil {
		return f.get(ctx, "restart", f.oauth2StartURL(f.refusedAt))
	}
	// A gateway that redirects to Dex by itself starts a fresh authorization on the start URL.
	return f.get(ctx, "restart", f.start.String())
}

// chooseConnector leaves Dex's selection page for opts.Connector: by its link when the page lists connectors,
// else by rewriting /auth to /auth/<c> with the same query.
func (f *flow) chooseConnector(ctx context.Context, page *browser.Page) (*browser.Page, error) {
	f.step = "connector"
	f.s.ConnectorPageShown = true
	prefix := page.URL.Path + "/"
	var offered []string
	for _, l := range page.Links() {
		id, ok := strings.CutPrefix(l.URL.Path, prefix)
		if !ok || id == "" || strings.Contains(id, "/") {
			continue
		}
		if id == f.opts.Connector {
			return f.get(ctx, f.step, l.URL.String())
		}
		offered = append(offered, id)
	}
	if len(offered) > 0 {
		return nil, f.fail(result.LoginFlow, page.Status, fmt.Errorf("Dex offers connectors %s, not %q", strings.Join(offered, ", "), f.opts.Connector))
	}
	next := *page.URL
	next.Path = prefix + url.PathEscape(f.opts.Connector)
	next.RawPath = ""
	return f.get(ctx, f.step, next.String())
}

// postCredentials posts the username and password to the login form. No redirect afterwards means Dex
// rejected them: it re-renders the form, with 401 since v2.41 or so and 200 before.
func (f *flow) postCredentials(ctx context.Context, page *browser.Page) (*browser.Page, error) {
	f.step = "login"
	form, ok := page.FindForm(isLoginForm)
	if !ok {
		return nil, f.fail(result.LoginFlow, page.Status, errors.New("the Dex login page has no form with login and password fields"))
	}
	if f.opts.BeforeCredentials != nil {
		if err := f.opts.BeforeCredentials(ctx); err != nil {
			return nil, f.fail(result.LoginFlow, page.Status, err)
		}
	}
	f.posted = true
	next, err := f.record(f.b.Submit(ctx, page, form, url.Values{"login": {f.opts.Username}, "password": {f.opts.Password}}))
	if err != nil {
		return nil, err
	}
	if len(next.Hops) == 0 && next.Status >= http.StatusInternalServerError {
		return nil, f.connectorFailure(next)
	}
	if len(next.Hops) == 0 {
		_, formAgain := next.FindForm(isLoginForm)
		if next.Status == http.StatusUnauthorized || next.Status == http.StatusOK && formAgain {
			return nil, f.fail(result.InvalidCredentials, next.Status,
				fmt.Errorf("Dex rejected the credentials of %q for connector %q: no redirect after the POST", f.opts.Username, f.opts.Connector))
		}
	}
	return next, nil
}

// connectorFailure reads Dex's error page after the POST: handlePasswordLogin answers a connector error with
// 500 "Login error: <err>". The LDAP connector's "failed to connect" and go-ldap's network errors (refused,
// timed out) mean the directory is unreachable; anything else is the connector's own failure.
func (f *flow) connectorFailure(page *browser.Page) error {
	text := page.Text()
	msg := text
	if i := strings.Index(text, "Login error"); i >= 0 {
		msg = text[i:]
	}
	if len(msg) > maxDexMessage {
		msg = msg[:maxDexMessage] + "..."
	}
	reason := result.ConnectorError
	for _, marker := range []string{"failed to connect", `"Network Error"`, "connection timed out", "connection refused", "i/o timeout"} {
		if strings.Contains(text, marker) {
			reason = result.DirectoryUnreachable
			break
		}
	}
	if !strings.Contains(text, "Login error") {
		reason = result.ServerError
	}
	return f.fail(reason, page.Status, fmt.Errorf("Dex answered the credentials for connector %q with an error: %s", f.opts.Connector, msg))
}

// maxDexMessage bounds how much of Dex's error page goes into an error.
const maxDexMessage = 300

// approve submits Dex's "Grant Access" form, or posts approval=approve to the page when no form says so.
func (f *flow) approve(ctx context.Context, page *browser.Page) (*browser.Page, error) {
	f.step = "approval"
	f.s.ApprovalShown = true
	if !f.opts.Approve {
		return nil, f.fail(result.ApprovalScreen, page.Status, errors.New("Dex showed its approval page (set Options.Approve to grant it)"))
	}
	f.approved = true
	form, ok := page.FindForm(func(fm browser.Form) bool {
		field, ok := fm.Field("approval")
		return ok && field.Value == "approve"
	})
	if !ok {
		form = &browser.Form{Action: page.URL, Method: http.MethodPost}
	}
	return f.record(f.b.Submit(ctx, page, form, url.Values{"approval": {"approve"}}))
}

// get navigates to rawURL as step.
func (f *flow) get(ctx context.Context, step, rawURL string) (*browser.Page, error) {
	f.step = step
	return f.record(f.b.Get(ctx, rawURL))
}

// record appends a page's chain to the session, notes oauth2-proxy routes, and turns transport errors into
// *Error.
func (f *flow) record(page *browser.Page, err error) (*browser.Page, error) {
	if err != nil {
		return nil, f.fail(browser.Classify(err), 0, err)
	}
	for _, hop := range page.Chain() {
		f.s.Chain = append(f.s.Chain, hop)
		f.s.SetCookies = append(f.s.SetCookies, hop.SetCookies...)
	}
	return page, nil
}

// chainReachedDex reports whether the start request was redirected to a Dex page.
func (f *flow) chainReachedDex(page *browser.Page) bool {
	for _, hop := range page.Chain() {
		if step, _ := classifyDex(hop.ParsedURL()); step != notDex {
			return true
		}
	}
	return false
}

// onDexPrefix reports whether u is under the issuer path of a Dex page seen on the gateway's origin, such as
// Dex's error pages under /dex/.
func (f *flow) onDexPrefix(u *url.URL) bool {
	for _, hop := range f.s.Chain {
		hu := hop.ParsedURL()
		if step, _ := classifyDex(hu); step != notDex && sameOrigin(hu, u) {
			if prefix := issuerPrefix(hu); prefix != "" && strings.HasPrefix(u.Path, prefix+"/") {
				return true
			}
		}
	}
	return false
}

// describe names a page for an error message: status and path, without the query (it can hold a code).
func (f *flow) describe(page *browser.Page) string {
	return fmt.Sprintf("%d at %s", page.Status, page.URL.Path)
}

func (f *flow) fail(reason result.Reason, status int, err error) *Error {
	return &Error{Reason: reason, Step: f.step, Status: status, Err: err}
}

func isLoginForm(fm browser.Form) bool { return fm.Has("login", "password") }
