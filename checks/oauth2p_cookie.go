package checks

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func init() {
	register(&Check{ID: "OAUTH2P-007", Family: "OAUTH2P", Severity: Should,
		Needs: []target.Capability{target.CapGateway, target.CapDex, target.CapDexLocal, target.CapCookieSession},
		Title: "the session cookie is HttpOnly, Secure on https, and has a SameSite attribute",
		References: []string{"CHECKS.md additions", "oauth2-proxy cookie_httponly/cookie_secure/cookie_samesite",
			"kubeflow/manifests oauth2_proxy.cfg"},
		Run: checkSessionCookieFlags})
}

// checkSessionCookieFlags is OAUTH2P-007: log in and read the attributes of the cookies that make the session
// (those the jar holds at the end, as the gateway set them; the CSRF cookie and deletions aside). HttpOnly
// missing is a fail (a script on the page can read the session), as is Secure missing over https (the session
// would go out over http) and SameSite=None without Secure (browsers drop it); no SameSite at all is a warn: the
// browser's default decides whether cross-site requests carry the session (Lax in Chromium, not everywhere).
// Kubeflow's oauth2_proxy.cfg sets no cookie_samesite (WIRE-FACTS 1.2), so kubeflow gets that warn.
func checkSessionCookieFlags(ctx context.Context, env *Env) result.Result {
	t := env.Target
	s, b, failed := env.firstLocalLogin(ctx)
	if failed != nil {
		return *failed
	}
	gw, _ := url.Parse(t.GatewayURL)
	session := map[string]bool{}
	for _, c := range s.Cookies {
		session[c.Name] = true
	}
	var failures, warnings, seen []string
	for _, sc := range s.SetCookies {
		if !session[sc.Name] || sc.MaxAge < 0 || strings.Contains(strings.ToLower(sc.Name), "csrf") {
			continue
		}
		seen = append(seen, cookieFlags(sc))
		switch {
		case !sc.HttpOnly:
			failures = append(failures, sc.Name+" is not HttpOnly: a script on the page can read the session")
		case gw.Scheme == "https" && !sc.Secure:
			failures = append(failures, sc.Name+" is not Secure on an https gateway: the browser would send the session over http")
		case sc.SameSite == http.SameSiteNoneMode && !sc.Secure:
			failures = append(failures, sc.Name+" is SameSite=None without Secure: browsers drop it")
		case sc.SameSite == 0 || sc.SameSite == http.SameSiteDefaultMode: // no attribute, or one without a value
			warnings = append(warnings, sc.Name+" has no SameSite attribute: the browser's default decides whether cross-site requests carry the session")
		}
	}
	actual := strings.Join(seen, ", ")
	const expected = "HttpOnly, Secure on https, SameSite set"
	switch {
	case len(seen) == 0:
		return withHistory(expecting(fail(result.SessionNotAccepted, "the login set no session cookie at the gateway"), expected, "none"), b)
	case len(failures) > 0:
		return withHistory(expecting(fail(result.CookieFlags, "%s", strings.Join(failures, "; ")), expected, actual), b)
	case len(warnings) > 0:
		return withHistory(expecting(warn(result.CookieFlags, "%s", strings.Join(warnings, "; ")), expected, actual), b)
	}
	return withHistory(expecting(pass("session cookie flags: %s", actual), expected, actual), b)
}
