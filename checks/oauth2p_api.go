package checks

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func init() {
	register(&Check{ID: "OAUTH2P-001", Family: "OAUTH2P", Severity: Must, Needs: []target.Capability{target.CapGateway},
		Title:      "unauthenticated XHR calls to /pipeline/apis get 401, not a login redirect, and set no CSRF cookies",
		References: []string{"deployKF#96", "deployKF PR#99", "oauth2-proxy#2163", "oauth2-proxy#2383", "oauth2-proxy api_routes"},
		Run:        checkUnauthenticatedXHR})
}

// xhrCalls is how many unauthenticated calls OAUTH2P-001 makes: enough that a gateway which sets a cookie per call
// shows it (deployKF#96: every XHR of a page whose session had expired added a _csrf cookie, until the browser's
// Cookie header passed the gateway's limit and every request got 431).
const xhrCalls = 5

// authserviceStateCookie is the state cookie oidc-authservice sets when it starts a login (its fixed name,
// WIRE-FACTS.md 1.5); oauth2-proxy names its CSRF cookie after cookie_name.
const authserviceStateCookie = "oidc_state_csrf"

// checkUnauthenticatedXHR is OAUTH2P-001: xhrCalls GETs of an API path as the pipeline UI's fetch() makes them
// (Accept: */*, X-Requested-With), without credentials or cookies. oauth2-proxy with api_routes answers each with
// 401 and `{}` and no cookie (WIRE-FACTS 1.2: isAPIPath -> errorJSON); without api_routes it starts a login for
// each: a 302 with a CSRF cookie, or the 403 sign-in page. (A call with Accept: application/json would get 401
// from oauth2-proxy's AJAX detection even without api_routes, so it would not show the gap.) oidc-authservice has no API special case (its
// "TODO: Detect X-Requested-With") and redirects with a state cookie: a warn there, the known limitation of that
// gateway; a fail on any other. Which gateway answered is observed, not read from the server profile: the state
// cookie oidc-authservice sets (authserviceStateCookie) names it.
func checkUnauthenticatedXHR(ctx context.Context, env *Env) result.Result {
	t := env.Target
	url := t.PipelineURL + "/apis/v2beta1/experiments?namespace=" + probeNamespace(t)
	header := http.Header{"Accept": {"*/*"}, "X-Requested-With": {"XMLHttpRequest"}}
	statuses := map[int]int{}
	cookies := map[string]bool{}
	csrfCookies := 0
	var evidence []result.Exchange
	for i := 0; i < xhrCalls; i++ {
		status, h, _, err := rawGetHeaders(ctx, env, url, header)
		if err != nil {
			return errorf(reasonOf(err), "unauthenticated call %d of %d: %v", i+1, xhrCalls, err)
		}
		statuses[status]++
		names := setCookieNames(h)
		for _, n := range names {
			cookies[n] = true
			if strings.Contains(strings.ToLower(n), "csrf") {
				csrfCookies++
			}
		}
		if i == 0 {
			ex := result.Exchange{Method: http.MethodGet, URL: url, Status: status, Location: h.Get("Location")}
			if len(names) > 0 {
				ex.Note = "Set-Cookie: " + strings.Join(names, ", ") + " (values not recorded)"
			}
			evidence = append(evidence, ex)
		}
	}
	actual := fmt.Sprintf("%s; cookies set: %s", statusCounts(statuses), cookieNames(cookies))
	const expected = "401 for each call, no CSRF cookie"
	var res result.Result
	switch {
	case statuses[http.StatusUnauthorized] == xhrCalls && csrfCookies == 0:
		res = pass("%d unauthenticated JSON calls: %s", xhrCalls, actual)
	case statuses[http.StatusOK] > 0:
		res = fail(result.Unsecured, "an unauthenticated API call got 200: %s", actual)
	case cookies[authserviceStateCookie]:
		res = warn(result.GatewayConfig, "oidc-authservice treats API calls like page loads (no API special case): %s; a script gets a redirect to Dex instead of 401, and each call adds a state cookie", actual)
	case csrfCookies > 0:
		res = fail(result.GatewayConfig, "unauthenticated API calls start a login and each sets a CSRF cookie (%s): an expired session's page piles them up until requests fail with 431 (deployKF#96); oauth2-proxy's api_routes must cover /apis/", actual)
	default:
		res = fail(result.GatewayConfig, "unauthenticated API calls are not answered with 401 (%s): oauth2-proxy's api_routes must cover /apis/ so scripts and the UI's XHRs get 401 instead of a login page", actual)
	}
	res.Evidence = evidence
	return expecting(res, expected, actual)
}

// setCookieNames are the names of the cookies a response sets (never their values).
func setCookieNames(h http.Header) []string {
	resp := http.Response{Header: h}
	var out []string
	for _, c := range resp.Cookies() {
		out = append(out, c.Name)
	}
	return out
}

// statusCounts renders {401: 5} as "5 x 401".
func statusCounts(m map[int]int) string {
	var codes []int
	for c := range m {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d x %d", m[c], c))
	}
	return strings.Join(parts, ", ")
}

// cookieNames lists a set of cookie names, "none" for none.
func cookieNames(m map[string]bool) string {
	if len(m) == 0 {
		return "none"
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
