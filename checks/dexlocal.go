package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/auth/dexlogin"
	"github.com/kfp-authcheck/kfp-authcheck/kfpapi"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

var dexLocalNeeds = []target.Capability{target.CapGateway, target.CapDex, target.CapDexLocal}

func init() {
	for _, c := range []*Check{
		{ID: "DEX-LOCAL-001", Title: "an unauthenticated visit of the pipeline UI leads to Dex's login",
			References: []string{"manifests#2844", "deployKF PR#100", "oauth2_proxy.cfg skip_provider_button"},
			Run:        checkLoginEntry},
		{ID: "DEX-LOCAL-002", Title: "the local connector is reached and the redirect chain matches the distribution's",
			References: []string{"elyra#2212", "kedro-kubeflow#184", "kedro-kubeflow#185"},
			Run:        checkConnectorChain},
		{ID: "DEX-LOCAL-003", Title: "a wrong password is reported as INVALID_CREDENTIALS, not a flow error",
			References: []string{"KFPClientManager", "manifests tests/dex_login_test.py"},
			Run:        checkWrongPassword},
		{ID: "DEX-LOCAL-004", Severity: Should, Title: "the approval screen is detected, and approving completes the login",
			References: []string{"manifests#2844", "manifests#2542", "dex#3540", "dex#3707", "dex PR#3086", "pipelines#11506"},
			Run:        checkApprovalScreen},
		{ID: "DEX-LOCAL-005", Title: "session cookies are collected whatever their names and splits",
			References: []string{"kfctl#140", "kedro-kubeflow#275", "deployKF cookie config", "oauth2-proxy#644"},
			Run:        checkCookiesCollected},
		{ID: "DEX-LOCAL-006", Title: "the session cookie works: healthz and the user's experiments, as the login's identity",
			References: []string{"pipelines#7777", "gap in manifests dex_login_test.py"},
			Run:        checkCookieWorks},
		{ID: "DEX-LOCAL-007", Long: true, Title: "fresh sessions per attempt: 3 sequential and 2 parallel logins succeed",
			References: []string{"kubeflow#7521", "oauth2-proxy#1451", "manifests dex_login_test.py retries"},
			Run:        checkRepeatedLogins},
		{ID: "DEX-LOCAL-008", Title: "the login works over the gateway's scheme with no loop and cookies the client can send back",
			References: []string{"kfctl#140", "kubeflow#5803", "kubeflow#5763", "awslabs#838", "manifests#2868"},
			Run:        checkSchemeAndCookieFlags},
		{ID: "DEX-LOCAL-009", Title: "after the ID token expires the old cookie gets 401/302/403, never 500, and re-login works",
			References: []string{"manifests#3491", "plural#167", "manifests#2904", "oauth2_proxy.cfg cookie_expire"},
			Needs:      []target.Capability{target.CapClock}, Exclusive: true,
			Run: checkExpiredSession},
	} {
		c.Family = "DEX-LOCAL"
		if c.Severity == "" {
			c.Severity = Must
		}
		c.Needs = append(append([]target.Capability{}, dexLocalNeeds...), c.Needs...)
		register(c)
	}
}

// checkLoginEntry is DEX-LOCAL-001: an unauthenticated browser visit ends on Dex's login, through a 302 or
// through the sign-in page and /oauth2/start.
func checkLoginEntry(ctx context.Context, env *Env) result.Result {
	t := env.Target
	b, err := env.Browser()
	if err != nil {
		return errorf(result.Internal, "%v", err)
	}
	start := t.PipelineURL + "/"
	page, err := b.Get(ctx, start)
	if err != nil {
		return failFromError("GET "+start, err)
	}
	first := page.Status
	if len(page.Hops) > 0 {
		first = page.Hops[0].Status
	}
	class := ""
	switch {
	case first == http.StatusFound || first == http.StatusSeeOther:
		class = classRedirect
	case first == http.StatusForbidden:
		class = classSignInPage
		forms, _ := page.Forms()
		startURL := ""
		for _, f := range forms {
			if strings.HasSuffix(f.Action.Path, "/start") {
				q := url.Values{}
				for _, fl := range f.Fields {
					if fl.Name != "" {
						q.Set(fl.Name, fl.Value)
					}
				}
				startURL = f.Action.String() + "?" + q.Encode()
			}
		}
		if startURL == "" {
			res := fail(result.GatewayConfig, "403 without a sign-in form that GETs .../start")
			res.Evidence = b.History()
			return res
		}
		if page, err = b.Get(ctx, startURL); err != nil {
			return failFromError("GET the sign-in form's start URL", err)
		}
	case first == http.StatusUnauthorized:
		class = classUnauthorized
		if page, err = b.Get(ctx, target.Origin(t.GatewayURL)+startPath(t)+"?rd="+url.QueryEscape(pathOf(start))); err != nil {
			return failFromError("GET /oauth2/start", err)
		}
	case first == http.StatusOK && !onDex(t, page.URL):
		res := fail(result.Unsecured, "the pipeline UI answered 200 without a login")
		res.Evidence = b.History()
		return res
	default:
		res := fail(result.UnclassifiedGatewayReply, "unexpected first answer %d", first)
		res.Evidence = b.History()
		return res
	}
	actual := fmt.Sprintf("%s, then %s", class, pathOf(page.URL.String()))
	var res result.Result
	switch {
	case !onDex(t, page.URL):
		res = fail(result.LoginFlow, "the login did not reach Dex (%s): ended at %s with %d", t.IssuerURL, page.URL.Redacted(), page.Status)
	case t.Profile != nil && class != t.Profile.Expect.Unauthenticated:
		res = fail(result.GatewayConfig, "reached Dex through %s, profile %s expects %s", class, t.Profile.Name, t.Profile.Expect.Unauthenticated)
	default:
		res = pass("%s leads to Dex's login at %s", class, pathOf(page.URL.String()))
	}
	res.Evidence = b.History()
	if t.Profile != nil {
		return expecting(res, t.Profile.Expect.Unauthenticated+", then Dex", actual)
	}
	return expecting(res, "Dex's login page", actual)
}

// onDex reports whether u is under the issuer.
func onDex(t *target.Target, u *url.URL) bool {
	iss, err := url.Parse(t.IssuerURL)
	if err != nil || u == nil {
		return false
	}
	return u.Host == iss.Host && strings.HasPrefix(u.Path, iss.Path+"/")
}

func startPath(t *target.Target) string {
	if t.Profile != nil && t.Profile.Gateway != nil && t.Profile.Gateway.StartPath != "" {
		return t.Profile.Gateway.StartPath
	}
	return "/oauth2/start"
}

func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Path
}

// chainOf renders a login's redirect chain as "METHOD /path STATUS" lines, the golden-chain format.
func chainOf(s *dexlogin.Session) []string {
	out := make([]string, 0, len(s.Chain))
	for _, h := range s.Chain {
		out = append(out, fmt.Sprintf("%s %s %d", h.Method, pathOf(h.URL), h.Status))
	}
	return out
}

// checkConnectorChain is DEX-LOCAL-002: the login reaches /auth/local/login (through the selection page where
// there is one) and the whole chain is the profile's golden chain.
func checkConnectorChain(ctx context.Context, env *Env) result.Result {
	t := env.Target
	iss, _ := url.Parse(t.IssuerURL)
	want := iss.Path + "/auth/local/login"
	s, b, failed := env.firstLocalLogin(ctx)
	if failed != nil {
		// A login that never came to the local connector's form (Dex without the password database, or with
		// its connectors elsewhere) is this check's failure, said as such; a transport error stays an error.
		if failed.Status != result.Fail || b == nil || visited(b, want) {
			return *failed
		}
		var path []string
		for _, x := range b.History() {
			path = append(path, fmt.Sprintf("%s %s %d", x.Method, pathOf(x.URL), x.Status))
		}
		res := fail(result.LoginFlow, "the login never reached %s (%s)", want, failed.Message)
		res.Actual = strings.Join(path, " -> ")
		if t.Profile != nil {
			res.Expected = strings.Join(t.Profile.Expect.LoginChain, " -> ")
		}
		res.Evidence = failed.Evidence
		return res
	}
	chain := chainOf(s)
	reached := false
	for _, c := range chain {
		reached = reached || strings.Contains(c, " "+want+" ")
	}
	actual := strings.Join(chain, " -> ")
	var res result.Result
	switch {
	case !reached:
		res = fail(result.LoginFlow, "the login never reached %s", want)
	case t.Profile != nil && len(t.Profile.Expect.LoginChain) > 0 && strings.Join(t.Profile.Expect.LoginChain, " -> ") != actual:
		res = warn(result.GatewayConfig, "the login works, but its redirect chain differs from profile %s's", t.Profile.Name)
		res.Expected = strings.Join(t.Profile.Expect.LoginChain, " -> ")
	default:
		res = pass("reached %s; %d hops%s", want, len(chain), map[bool]string{true: ", through the connector-selection page"}[s.ConnectorPageShown])
	}
	res.Actual = actual
	if res.Expected == "" && t.Profile != nil {
		res.Expected = strings.Join(t.Profile.Expect.LoginChain, " -> ")
	}
	return withHistory(res, b)
}

// visited reports whether the browser requested path (on any host).
func visited(b *browser.Browser, path string) bool {
	for _, x := range b.History() {
		if pathOf(x.URL) == path {
			return true
		}
	}
	return false
}

// checkWrongPassword is DEX-LOCAL-003.
func checkWrongPassword(ctx context.Context, env *Env) result.Result {
	u, _ := env.FirstUser("local")
	u.Password = wrongPassword(u.Password)
	_, b, err := env.Login(ctx, u)
	switch {
	case err == nil:
		return withHistory(fail(result.LoginFlow, "a wrong password was accepted"), b)
	case reasonOf(err) == result.InvalidCredentials:
		return withHistory(expecting(pass("a wrong password is refused with no redirect: %v", err),
			"INVALID_CREDENTIALS", string(result.InvalidCredentials)), b)
	default:
		return withHistory(expecting(failFromError("a wrong password was not recognised as such", err),
			"INVALID_CREDENTIALS", string(reasonOf(err))), b)
	}
}

// wrongPassword derives a password that is certainly not the right one.
func wrongPassword(pw string) string { return pw + "-not-the-password" }

// checkApprovalScreen is DEX-LOCAL-004: warn where the approval page shows (scripts that do not expect it
// break), pass where it does not; in both cases approving must complete the login.
func checkApprovalScreen(ctx context.Context, env *Env) result.Result {
	t := env.Target
	s, b, failed := env.firstLocalLogin(ctx)
	if failed != nil {
		return *failed
	}
	var res result.Result
	if s.ApprovalShown {
		res = warn(result.ApprovalScreen, "Dex shows the approval screen (approving completed the login); scripts that do not handle /approval break")
	} else {
		res = pass("no approval screen")
	}
	res.Actual = fmt.Sprintf("approval screen shown: %v", s.ApprovalShown)
	if t.Profile != nil {
		res.Expected = fmt.Sprintf("approval screen shown: %v", t.Profile.Expect.ApprovalScreen)
	}
	return withHistory(res, b)
}

// checkCookiesCollected is DEX-LOCAL-005: the login's cookies are collected from the jar whatever their names,
// and the session cookie can be collected whole: a split one (oauth2-proxy splits a cookie over 4 KB into
// <name>_0, <name>_1, ...) has its parts numbered from _0 with none missing, and every part of it is one a
// browser sends back with the API's requests (its path and domain cover the pipeline URL). A login that fails
// with a part left in the jar that the API's requests never carry fails for that reason.
func checkCookiesCollected(ctx context.Context, env *Env) result.Result {
	t := env.Target
	want := ""
	if t.Profile != nil && t.Profile.Gateway != nil {
		want = t.Profile.Gateway.CookieName
	}
	apiURL, err := url.Parse(t.PipelineURL + "/apis/v2beta1/healthz")
	if err != nil {
		return errorf(result.ConfigError, "pipeline URL: %v", err)
	}
	s, b, failed := env.firstLocalLogin(ctx)
	if failed != nil {
		if b != nil {
			if problem := sessionCookieProblem(b.HostCookies(apiURL), b.Cookies(apiURL), want); problem != "" {
				res := fail(result.CookieFlags, "the login failed, and the session cookie cannot be collected whole: %s (%s)", problem, failed.Message)
				res.Evidence = failed.Evidence
				return expecting(res, "every part of the session cookie sent with the API's requests", problem)
			}
		}
		return *failed
	}
	var names []string
	for _, c := range s.Cookies {
		names = append(names, c.Name)
	}
	actual := "cookies: " + strings.Join(names, ", ")
	if len(names) == 0 {
		return withHistory(expecting(fail(result.SessionNotAccepted, "the login set no cookie at the gateway"), "a session cookie", "none"), b)
	}
	expected := "the session cookie (or its _0, _1, ... parts) collected whole and sent with the API's requests"
	if problem := sessionCookieProblem(s.Cookies, b.Cookies(apiURL), want); problem != "" {
		return withHistory(expecting(fail(result.CookieFlags, "the session cookie cannot be collected whole: %s", problem), expected, actual), b)
	}
	res := pass("collected %d cookie(s): %s", len(names), strings.Join(names, ", "))
	if want != "" {
		found := false
		for _, n := range names {
			found = found || n == want || strings.HasPrefix(n, want+"_")
		}
		if !found {
			res = warn(result.GatewayConfig, "the session cookie is not named %s as profile %s says (collected anyway: %s)",
				want, t.Profile.Name, strings.Join(names, ", "))
		}
		expected = "a cookie named " + want + " (or its _0/_1 parts), collected whole and sent with the API's requests"
	}
	res.Expected = expected
	res.Actual = actual
	return withHistory(res, b)
}

// splitPart matches oauth2-proxy's split-cookie part names: <name>_<n>.
var splitPart = regexp.MustCompile(`^(.+)_(\d+)$`)

// sessionCookieProblem says why the session cookie cannot be collected whole from collected (the host's cookies
// on any path), or "" when it can: a split cookie's parts must run from _0 with none missing, and every part
// (and the profile's cookie, named want, where it is set unsplit) must be among sent, the cookies a browser
// sends with the API's requests.
func sessionCookieProblem(collected, sent []*http.Cookie, want string) string {
	isSent := map[string]bool{}
	for _, c := range sent {
		isSent[c.Name] = true
	}
	parts := map[string][]int{}
	var problems []string
	for _, c := range collected {
		base, n := "", -1
		if m := splitPart.FindStringSubmatch(c.Name); m != nil {
			base = m[1]
			n, _ = strconv.Atoi(m[2])
			parts[base] = append(parts[base], n)
		}
		if (base != "" || c.Name == want) && c.Value != "" && !isSent[c.Name] {
			problems = append(problems, fmt.Sprintf("%s is not sent with the API's requests (its path or domain does not cover them)", c.Name))
		}
	}
	for base, ns := range parts {
		sort.Ints(ns)
		for i, n := range ns {
			if n != i {
				problems = append(problems, fmt.Sprintf("%s is split into parts %v: part _%d is missing", base, ns, i))
				break
			}
		}
	}
	sort.Strings(problems)
	return strings.Join(problems, "; ")
}

// checkCookieWorks is DEX-LOCAL-006: the cookie opens healthz and the user's experiments, and the API sees the
// login's email as the identity (a foreign namespace's 403 names the user).
func checkCookieWorks(ctx context.Context, env *Env) result.Result {
	u, _ := env.FirstUser("local")
	s, b, err := env.SharedLogin(ctx, u)
	if err != nil {
		return withHistory(failFromError("login", err), b)
	}
	api := env.API(s)
	if _, err := api.Healthz(ctx, "v2beta1"); err != nil {
		return withHistory(failFromError("GET /apis/v2beta1/healthz with the session cookie", err), b)
	}
	if u.Namespace == "" {
		return withHistory(pass("healthz answers with the cookie (no namespace configured for %s, experiments not listed)", u.Email), b)
	}
	exps, err := api.ListExperiments(ctx, u.Namespace)
	if err != nil {
		return withHistory(failFromError("list experiments in "+u.Namespace, err), b)
	}
	// The identity: a namespace nobody owns is refused, and the refusal names the user the API saw.
	foreign := "kfp-authcheck-no-such-namespace"
	_, err = api.ListExperiments(ctx, foreign)
	identity := "(not named)"
	if err != nil {
		identity = userNamedIn(err.Error())
	}
	actual := fmt.Sprintf("healthz 200; %d experiment(s) in %s; identity %s", len(exps), u.Namespace, identity)
	var res result.Result
	switch {
	case err == nil:
		res = fail(result.Unsecured, "the session can list experiments in %s, a namespace it has no access to", foreign)
	case identity != "(not named)" && !strings.EqualFold(identity, u.Email):
		res = fail(result.IdentityMismatch, "the API sees the session as %s, not %s", identity, u.Email)
	case identity == "(not named)":
		// Not a pass: half of what the check names (the login's identity) was not observed.
		res = warn(result.UnexpectedResponse, "the cookie works, but the identity the API sees is unknown: the refusal in %s names no user (%v)",
			foreign, err)
	default:
		res = pass("%s", actual)
	}
	return withHistory(expecting(res, "healthz 200; experiments listed; identity "+u.Email, actual), b)
}

// userNamedIn pulls the user out of KFP's "User 'x' is not authorized" message.
func userNamedIn(msg string) string {
	const marker = "User '"
	i := strings.Index(msg, marker)
	if i < 0 {
		return "(not named)"
	}
	rest := msg[i+len(marker):]
	if j := strings.Index(rest, "'"); j >= 0 {
		return rest[:j]
	}
	return "(not named)"
}

// checkRepeatedLogins is DEX-LOCAL-007: three logins one after the other, then two at once, each in a fresh
// browser. The two parallel logins overlap at Dex: each holds on Dex's login form (its auth request created and
// pending) until the other has reached its form too, and only then posts its credentials, so a Dex or gateway
// that keeps one pending login per user, client or browser-less state fails one of them.
func checkRepeatedLogins(ctx context.Context, env *Env) result.Result {
	u, _ := env.FirstUser("local")
	var failures []string
	for i := 0; i < 3; i++ {
		if _, _, err := env.Login(ctx, u); err != nil {
			failures = append(failures, fmt.Sprintf("sequential %d: %v", i+1, err))
		}
	}
	const parallel = 2
	var atForm sync.WaitGroup // a login is Done when it reaches Dex's form, or ends without reaching it
	atForm.Add(parallel)
	allThere := make(chan struct{})
	go func() { atForm.Wait(); close(allThere) }()
	var wg sync.WaitGroup
	var mu sync.Mutex
	overlapped := 0 // logins that posted while the other's auth request was pending at Dex
	for i := 0; i < parallel; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var once, counted sync.Once
			arrive := func() { once.Do(atForm.Done) }
			defer arrive()
			b, err := env.Browser()
			if err == nil {
				opts := env.loginOptions(u)
				opts.BeforeCredentials = func(ctx context.Context) error {
					arrive()
					select {
					case <-allThere:
						counted.Do(func() { mu.Lock(); overlapped++; mu.Unlock() })
						return nil
					case <-ctx.Done():
						return fmt.Errorf("waiting for the other login to reach Dex's form: %w", ctx.Err())
					}
				}
				_, err = dexlogin.Login(ctx, b, opts)
			}
			if err != nil {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("parallel %d: %v", i+1, err))
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	actual := fmt.Sprintf("%d of 5 logins succeeded; %d of %d parallel logins posted with both auth requests pending at Dex",
		5-len(failures), overlapped, parallel)
	want := "5 of 5 logins succeeded; the parallel ones overlapping at Dex"
	if len(failures) > 0 {
		return expecting(fail(result.LoginFlow, "%s", strings.Join(failures, "; ")), want, actual)
	}
	return expecting(pass("3 sequential and 2 parallel logins (both pending at Dex at once), each in a fresh session"), want, actual)
}

// checkSchemeAndCookieFlags is DEX-LOCAL-008: the chain stays on the gateway's scheme, and no cookie the session
// depends on is Secure over plain http (the client would never send it back).
func checkSchemeAndCookieFlags(ctx context.Context, env *Env) result.Result {
	t := env.Target
	s, b, failed := env.firstLocalLogin(ctx)
	if failed != nil {
		return *failed
	}
	gw, _ := url.Parse(t.GatewayURL)
	for _, h := range s.Chain {
		hu, err := url.Parse(h.URL)
		if err == nil && hu.Host == gw.Host && hu.Scheme != gw.Scheme {
			return withHistory(fail(result.GatewayConfig, "the login left %s for %s at %s", gw.Scheme, hu.Scheme, hu.Path), b)
		}
	}
	var problems, flags []string
	for _, sc := range s.SetCookies {
		flags = append(flags, cookieFlags(sc))
		if sc.Secure && gw.Scheme == "http" && sc.MaxAge >= 0 {
			problems = append(problems, sc.Name+" is Secure over http")
		}
	}
	actual := fmt.Sprintf("scheme %s; %s", gw.Scheme, strings.Join(flags, ", "))
	if len(problems) > 0 {
		return withHistory(expecting(fail(result.CookieFlags, "%s: the client will not send it back", strings.Join(problems, "; ")),
			"cookies the client can send back", actual), b)
	}
	return withHistory(expecting(pass("login over %s with no redirect loop; cookie flags fit the scheme", gw.Scheme),
		"cookies the client can send back", actual), b)
}

// cookieFlags renders a Set-Cookie by its name and the attributes that decide where it goes and who can read it
// (never its value).
func cookieFlags(c *http.Cookie) string {
	attrs := []string{"Path=" + c.Path}
	if c.Path == "" {
		attrs[0] = "Path=(the request's)"
	}
	if c.Domain != "" {
		attrs = append(attrs, "Domain="+c.Domain)
	}
	attrs = append(attrs, fmt.Sprintf("Secure=%v HttpOnly=%v SameSite=%s", c.Secure, c.HttpOnly, sameSiteName(c.SameSite)))
	return c.Name + "(" + strings.Join(attrs, " ") + ")"
}

func sameSiteName(s http.SameSite) string {
	switch s {
	case http.SameSiteLaxMode:
		return "Lax"
	case http.SameSiteStrictMode:
		return "Strict"
	case http.SameSiteNoneMode:
		return "None"
	}
	return "unset"
}

// checkExpiredSession is DEX-LOCAL-009: move the stack's clock past the ID token's lifetime; the old cookie must
// be refused cleanly, and logging in again in the same browser (cookies not cleared) must work.
func checkExpiredSession(ctx context.Context, env *Env) result.Result {
	t := env.Target
	u, _ := env.FirstUser("local")
	s, b, err := env.Login(ctx, u)
	if err != nil {
		return withHistory(failFromError("login", err), b)
	}
	ttl := 24 * time.Hour
	if t.Profile != nil && t.Profile.Dex != nil && t.Profile.Dex.IDTokenTTL.Duration > 0 {
		ttl = t.Profile.Dex.IDTokenTTL.Duration
	}
	if t.Profile != nil && t.Profile.Gateway != nil && t.Profile.Gateway.CookieExpire.Duration > ttl {
		ttl = t.Profile.Gateway.CookieExpire.Duration
	}
	t.Clock.Advance(ttl + time.Minute)
	_, err = env.API(s).ListExperiments(ctx, u.Namespace)
	status := 200
	if err != nil {
		status = statusOf(err)
	}
	actual := fmt.Sprintf("old cookie after %s: %d", ttl+time.Minute, status)
	switch {
	case err == nil:
		return withHistory(expecting(fail(result.SessionNotAccepted, "the old cookie still works after the ID token expired"), "401, 302 or 403", actual), b)
	case status >= 500:
		return withHistory(expecting(fail(result.ServerError, "the expired session gets a server error: %v", err), "401, 302 or 403", actual), b)
	case status != 401 && status != 302 && status != 403:
		return withHistory(expecting(fail(result.UnexpectedResponse, "the expired session gets %d", status), "401, 302 or 403", actual), b)
	}
	if _, err := reLogin(ctx, env, b, u); err != nil {
		return withHistory(expecting(failFromError("re-login with the old cookies still in the browser", err), "re-login works", actual), b)
	}
	return withHistory(expecting(pass("the expired session is refused with %d and a re-login works", status), "401, 302 or 403; re-login works", actual), b)
}

func reLogin(ctx context.Context, env *Env, b *browser.Browser, u target.User) (*dexlogin.Session, error) {
	return dexlogin.Login(ctx, b, env.loginOptions(u))
}

func statusOf(err error) int {
	var ae *kfpapi.APIError
	if errors.As(err, &ae) {
		return ae.StatusCode
	}
	return 0
}

// withHistory attaches the browser's redacted exchanges as evidence.
func withHistory(r result.Result, b *browser.Browser) result.Result {
	if b != nil {
		r.Evidence = append(r.Evidence, b.History()...)
	}
	return r
}
