package checks

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func init() {
	register(&Check{ID: "OAUTH2P-002", Family: "OAUTH2P", Severity: Must,
		Needs:      []target.Capability{target.CapGateway, target.CapDex, target.CapDexLocal, target.CapCookieSession},
		Title:      "the CSRF (state) cookie set when the login starts comes back at the callback",
		References: []string{"manifests#2664", "oauth2-proxy#1283", "oauth2-proxy pkg/cookies/csrf.go"},
		Run:        checkCSRFRoundTrip})
}

// checkCSRFRoundTrip is OAUTH2P-002: in a login's history, the last CSRF cookie the gateway set before the
// callback (oauth2-proxy's <cookie_name>_csrf[_<hash>], oidc-authservice's oidc_state_csrf) must be in the Cookie
// header of the callback request. When it is not, the gateway answers "Unable to find a valid CSRF token" and the
// login fails (manifests#2664): the cookie's Secure, Domain or Path does not fit the URL the callback is on (a
// Secure cookie over http, a cookie_domain that is not the gateway's, a redirect_url on another host). Only cookie
// names and attributes are read; their values are never recorded.
func checkCSRFRoundTrip(ctx context.Context, env *Env) result.Result {
	t := env.Target
	callback := "/oauth2/callback"
	if t.Profile != nil && t.Profile.Gateway != nil && t.Profile.Gateway.CallbackPath != "" {
		callback = t.Profile.Gateway.CallbackPath
	}
	u, _ := env.FirstUser("local")
	_, b, loginErr := env.SharedLogin(ctx, u)
	if b == nil {
		return failFromError("login", loginErr)
	}
	var set, setAt, setFlags string
	var sentAtCallback []string
	reached := false
	for _, ex := range b.History() {
		pu, err := url.Parse(ex.URL)
		if err != nil {
			continue
		}
		if pu.Path == callback {
			// The callback request: what came with it, against the cookie set last before it.
			reached, sentAtCallback = true, cookieNamesOf(ex.Headers["Request-Cookie"])
			if ex.Status != http.StatusForbidden {
				break // a later restart is not needed to judge
			}
			continue
		}
		for _, line := range strings.Split(ex.Headers["Set-Cookie"], "\n") {
			c, err := http.ParseSetCookie(line)
			if err != nil || !strings.Contains(strings.ToLower(c.Name), "csrf") || c.MaxAge < 0 ||
				(!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
				continue
			}
			set, setAt, setFlags = c.Name, pu.Path, cookieFlags(c)
		}
	}
	const expected = "the CSRF cookie set at the start is sent at the callback"
	switch {
	case set == "" && loginErr != nil:
		return withHistory(failFromError("login", loginErr), b)
	case set == "":
		return withHistory(warn(result.UnexpectedResponse, "the login completed without any CSRF or state cookie: the gateway does not bind the callback to the browser that started it"), b)
	case !reached:
		return withHistory(failFromError(fmt.Sprintf("login (it never reached the callback %s)", callback), loginErr), b)
	case !slices.Contains(sentAtCallback, set):
		gw, _ := url.Parse(t.GatewayURL)
		return withHistory(expecting(fail(result.CookieFlags, "the CSRF cookie %s set at %s was not sent back at %s over %s: its Secure, Domain or Path does not fit the callback's URL, so the gateway cannot find a valid CSRF token (manifests#2664)",
			setFlags, setAt, callback, gw.Scheme), expected, fmt.Sprintf("sent at the callback: %s", orNoneList(sentAtCallback))), b)
	case loginErr != nil:
		return withHistory(failFromError("login (the CSRF cookie came back)", loginErr), b)
	}
	actual := fmt.Sprintf("%s set at %s, sent at %s", setFlags, setAt, callback)
	return withHistory(expecting(pass("the CSRF cookie %s", actual), expected, actual), b)
}

// cookieNamesOf reads the names of a redacted Cookie header ("a=[REDACTED]; b=[REDACTED]").
func cookieNamesOf(header string) []string {
	var out []string
	for _, part := range strings.Split(header, ";") {
		if name, _, ok := strings.Cut(strings.TrimSpace(part), "="); ok && name != "" {
			out = append(out, name)
		}
	}
	return out
}

func orNoneList(v []string) string {
	if len(v) == 0 {
		return "no cookie"
	}
	return strings.Join(v, ", ")
}
