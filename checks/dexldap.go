package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/auth/dexlogin"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

var dexLDAPNeeds = []target.Capability{target.CapGateway, target.CapDex, target.CapDexLDAP, target.CapCookieSession}

// maxRequestHeaders is Envoy's default max_request_headers_kb (60 KiB), the Istio ingress gateway in front of
// Kubeflow's oauth2-proxy: a Cookie header near it fails before any auth code runs.
const maxRequestHeaders = 60 * 1024

func init() {
	for _, c := range []*Check{
		{ID: "DEX-LDAP-001", Title: "an LDAP user logs in through /auth/ldap and the cookie lists experiments as that user's email",
			References: []string{"kubeflow#6183", "kubeflow#5345", "elyra#2212"},
			Run:        checkLDAPLogin},
		{ID: "DEX-LDAP-002", Title: "with local and LDAP both on, the connector choice is deterministic and a wrong LDAP password is INVALID_CREDENTIALS",
			References: []string{"dex#1084", "elyra#2212"},
			Needs:      []target.Capability{target.CapDexLocal},
			Run:        checkConnectorChoice},
		{ID: "DEX-LDAP-003", Title: "a user with many groups authenticates: every split session cookie is forwarded, under header limits",
			References: []string{"oauth2-proxy#644", "deployKF#96"},
			Run:        checkLargeGroupSession},
	} {
		c.Family = "DEX-LDAP"
		c.Severity = Must
		c.Needs = append(append([]target.Capability{}, dexLDAPNeeds...), c.Needs...)
		register(c)
	}
}

// checkLDAPLogin is DEX-LDAP-001: the login flow picks the ldap connector (from the selection page where Dex
// shows one), and the API sees the session as the email the connector mapped.
func checkLDAPLogin(ctx context.Context, env *Env) result.Result {
	u, err := env.FirstUser("ldap")
	if err != nil {
		return errorf(result.ConfigError, "%v", err)
	}
	s, b, err := env.Login(ctx, u)
	if err != nil {
		return withHistory(expecting(failFromError("LDAP login of "+u.LoginName(), err), "login through /auth/ldap", string(reasonOf(err))), b)
	}
	want := issuerPath(env.Target) + "/auth/ldap/login"
	reached := false
	for _, c := range chainOf(s) {
		reached = reached || strings.Contains(c, " "+want+" ")
	}
	if !reached {
		return withHistory(fail(result.LoginFlow, "the login never reached %s", want), b)
	}
	summary, bad := verifySession(ctx, env, s, u)
	if bad != nil {
		return withHistory(*bad, b)
	}
	return withHistory(expecting(pass("%s logged in through %s; %s", u.LoginName(), want, summary),
		"experiments listed in the user's namespace; identity "+u.Email, summary), b)
}

// verifySession lists the user's experiments with the session and reads the identity the API sees from a
// refusal in a namespace nobody has: a summary, or the failed result.
func verifySession(ctx context.Context, env *Env, s *dexlogin.Session, u target.User) (string, *result.Result) {
	api := env.API(s)
	if u.Namespace == "" {
		if _, err := api.Healthz(ctx, "v2beta1"); err != nil {
			r := failFromError("healthz with the session cookie", err)
			return "", &r
		}
		return "healthz 200 (no namespace configured)", nil
	}
	exps, err := api.ListExperiments(ctx, u.Namespace)
	if err != nil {
		r := failFromError("list experiments in "+u.Namespace, err)
		return "", &r
	}
	foreign := "kfp-authcheck-no-such-namespace"
	_, ferr := api.ListExperiments(ctx, foreign)
	if ferr == nil {
		r := fail(result.Unsecured, "the session can list experiments in %s, a namespace it has no access to", foreign)
		return "", &r
	}
	identity := userNamedIn(ferr.Error())
	summary := fmt.Sprintf("%d experiment(s) in %s; identity %s", len(exps), u.Namespace, identity)
	if identity != "(not named)" && !strings.EqualFold(identity, u.Email) {
		r := expecting(fail(result.IdentityMismatch, "the API sees the session as %s, not %s", identity, u.Email), "identity "+u.Email, summary)
		return "", &r
	}
	if identity == "(not named)" {
		// Not a pass: the identity part of the check was not observed.
		r := expecting(warn(result.UnexpectedResponse, "the session works, but the identity the API sees is unknown: the refusal in %s names no user (%v)",
			foreign, ferr), "identity "+u.Email, summary)
		return "", &r
	}
	return summary, nil
}

// checkConnectorChoice is DEX-LDAP-002. On one stack: /auth rewritten to /auth/ldap, and /auth with
// connector_id=ldap, both lead to the LDAP login form and a completed login; connector_id=local leads to the
// local form; a wrong LDAP password is INVALID_CREDENTIALS; a static user still logs in.
func checkConnectorChoice(ctx context.Context, env *Env) result.Result {
	u, err := env.FirstUser("ldap")
	if err != nil {
		return errorf(result.ConfigError, "%v", err)
	}
	local, err := env.FirstUser("local")
	if err != nil {
		return errorf(result.ConfigError, "%v", err)
	}
	var (
		steps    []string
		evidence []result.Exchange
	)
	try := func(name, connector string, rewrite func(*url.URL), complete bool) *result.Result {
		b, err := env.Browser()
		if err != nil {
			r := errorf(result.Internal, "%v", err)
			return &r
		}
		defer func() { evidence = append(evidence, b.History()...) }()
		end, err := chooseConnector(ctx, env, b, rewrite, connector, u, complete)
		if err != nil {
			r := failFromError(name, err)
			return &r
		}
		steps = append(steps, name+" -> "+end)
		return nil
	}
	byPath := func(a *url.URL) { a.Path += "/ldap" }
	byID := func(id string) func(*url.URL) {
		return func(a *url.URL) { q := a.Query(); q.Set("connector_id", id); a.RawQuery = q.Encode() }
	}
	for _, t := range []struct {
		name, connector string
		rewrite         func(*url.URL)
		complete        bool
	}{
		{"/auth/ldap", "ldap", byPath, true},
		{"/auth?connector_id=ldap", "ldap", byID("ldap"), true},
		{"/auth?connector_id=local", "local", byID("local"), false},
	} {
		if r := try(t.name, t.connector, t.rewrite, t.complete); r != nil {
			r.Evidence = append(r.Evidence, evidence...)
			return expecting(*r, "each choice reaches its connector", strings.Join(steps, "; "))
		}
	}
	wrong := u
	wrong.Password = wrongPassword(u.Password)
	_, b, err := env.Login(ctx, wrong)
	evidence = append(evidence, historyOf(b)...)
	if reasonOf(err) != result.InvalidCredentials {
		r := expecting(fail(reasonOrFlow(err), "a wrong LDAP password was not reported as INVALID_CREDENTIALS: %v", err),
			"INVALID_CREDENTIALS", string(reasonOf(err)))
		r.Evidence = evidence
		return r
	}
	steps = append(steps, "wrong LDAP password -> INVALID_CREDENTIALS")
	s, b, err := env.Login(ctx, local)
	evidence = append(evidence, historyOf(b)...)
	if err != nil {
		r := failFromError("the static user's login on the same stack", err)
		r.Evidence = evidence
		return r
	}
	summary, bad := verifySession(ctx, env, s, local)
	if bad != nil {
		bad.Evidence = append(bad.Evidence, evidence...)
		return *bad
	}
	steps = append(steps, "local user "+local.Email+" -> "+summary)
	r := expecting(pass("the connector is chosen by path and by connector_id; a wrong LDAP password is INVALID_CREDENTIALS; a static user logs in on the same stack"),
		"/auth/ldap and connector_id=ldap reach the LDAP login, connector_id=local the local one", strings.Join(steps, "; "))
	r.Evidence = evidence
	return r
}

// reasonOrFlow is the error's reason, LOGIN_FLOW for an unexpected success.
func reasonOrFlow(err error) result.Reason {
	if err == nil {
		return result.LoginFlow
	}
	return reasonOf(err)
}

func historyOf(b *browser.Browser) []result.Exchange {
	if b == nil {
		return nil
	}
	return b.History()
}

// chooseConnector reaches Dex's /auth from the pipeline URL, rewrites that URL, and expects to land on
// connector's login form; with complete, it logs u in there and expects to come back to the gateway. It
// returns where it ended, as "METHOD-less path STATUS".
func chooseConnector(ctx context.Context, env *Env, b *browser.Browser, rewrite func(*url.URL), connector string, u target.User, complete bool) (string, error) {
	authURL, err := reachAuth(ctx, env, b)
	if err != nil {
		return "", err
	}
	rewrite(authURL)
	page, err := b.Get(ctx, authURL.String())
	if err != nil {
		return "", err
	}
	want := issuerPath(env.Target) + "/auth/" + connector + "/login"
	form, ok := page.FindForm(func(f browser.Form) bool { return f.Has("login", "password") })
	if page.URL.Path != want || page.Status != http.StatusOK || !ok {
		return "", &dexlogin.Error{Reason: result.LoginFlow, Step: "connector", Status: page.Status,
			Err: fmt.Errorf("landed on %s (%d), not the login form at %s", page.URL.Path, page.Status, want)}
	}
	if !complete {
		return fmt.Sprintf("%s %d", page.URL.Path, page.Status), nil
	}
	page, err = b.Submit(ctx, page, form, url.Values{"login": {u.LoginName()}, "password": {u.Password}})
	if err != nil {
		return "", err
	}
	if af, ok := page.FindForm(func(f browser.Form) bool { fl, ok := f.Field("approval"); return ok && fl.Value == "approve" }); ok {
		if page, err = b.Submit(ctx, page, af, url.Values{"approval": {"approve"}}); err != nil {
			return "", err
		}
	}
	if onDex(env.Target, page.URL) || page.Status != http.StatusOK {
		reason := result.LoginFlow
		if page.Status == http.StatusUnauthorized && onDex(env.Target, page.URL) {
			reason = result.InvalidCredentials
		}
		return "", &dexlogin.Error{Reason: reason, Step: "login", Status: page.Status,
			Err: fmt.Errorf("after the credentials: %d at %s, not the gateway", page.Status, page.URL.Path)}
	}
	return fmt.Sprintf("logged in, back at %s %d", page.URL.Path, page.Status), nil
}

// reachAuth follows the pipeline URL (and /oauth2/start after a 401 or 403) to Dex's authorization endpoint,
// and returns that URL as the gateway built it (client_id, redirect_uri, state, PKCE).
func reachAuth(ctx context.Context, env *Env, b *browser.Browser) (*url.URL, error) {
	t := env.Target
	start := t.PipelineURL + "/"
	page, err := b.Get(ctx, start)
	if err != nil {
		return nil, err
	}
	if page.Status == http.StatusUnauthorized || page.Status == http.StatusForbidden {
		if page, err = b.Get(ctx, target.Origin(t.GatewayURL)+startPath(t)+"?rd="+url.QueryEscape(pathOf(start))); err != nil {
			return nil, err
		}
	}
	auth := issuerPath(t) + "/auth"
	for _, h := range page.Chain() {
		hu := h.ParsedURL()
		if hu.Path == auth && hu.Query().Has("client_id") {
			return hu, nil
		}
	}
	return nil, &dexlogin.Error{Reason: result.LoginFlow, Step: "start", Status: page.Status,
		Err: errors.New("the gateway never sent the browser to Dex's " + auth)}
}

func issuerPath(t *target.Target) string {
	iss, err := url.Parse(t.IssuerURL)
	if err != nil {
		return "/dex"
	}
	return strings.TrimRight(iss.Path, "/")
}

// checkLargeGroupSession is DEX-LDAP-003: the LDAP user whose session cookie the gateway splits (many groups
// make a large ID token) logs in; with every part the API answers, with a part missing it refuses (the parts
// are one session), and the Cookie header stays under the ingress's header limit.
func checkLargeGroupSession(ctx context.Context, env *Env) result.Result {
	var evidence []result.Exchange
	for _, u := range env.Target.UsersFor("ldap") {
		s, b, err := env.Login(ctx, u)
		evidence = append(evidence, historyOf(b)...)
		if err != nil {
			r := failFromError("LDAP login of "+u.LoginName(), err)
			r.Evidence = evidence
			return r
		}
		parts := splitParts(s.Cookies)
		if len(parts) < 2 {
			continue
		}
		r := checkSplitSession(ctx, env, s, u, parts)
		r.Evidence = evidence
		return r
	}
	r := na(result.ConfigError, "no LDAP user's session cookie is split into _0/_1 parts: add a user in many groups to test it")
	r.Evidence = evidence
	return r
}

func checkSplitSession(ctx context.Context, env *Env, s *dexlogin.Session, u target.User, parts []*http.Cookie) result.Result {
	var names []string
	for _, p := range parts {
		names = append(names, p.Name)
	}
	header := s.CookieHeader()
	actual := fmt.Sprintf("%s: %d parts (%s), Cookie header %d bytes", u.LoginName(), len(parts), strings.Join(names, ", "), len(header))
	expected := "every part forwarded: 200 with all, refused without the last; Cookie header under 60 KiB"
	summary, bad := verifySession(ctx, env, s, u)
	if bad != nil {
		return expecting(*bad, expected, actual)
	}
	actual += "; with all parts: " + summary
	partial := &dexlogin.Session{}
	for _, c := range s.Cookies {
		if c.Name != parts[len(parts)-1].Name {
			partial.Cookies = append(partial.Cookies, c)
		}
	}
	_, err := env.API(partial).ListExperiments(ctx, u.Namespace)
	switch st := statusOf(err); {
	case err == nil:
		return expecting(fail(result.GatewayConfig, "the API answered without %s: the parts are not one session", parts[len(parts)-1].Name), expected, actual)
	case st != 401 && st != 403 && st != 302:
		return expecting(failFromError("list experiments without the last part", err), expected, actual)
	default:
		actual += fmt.Sprintf("; without %s: %d", parts[len(parts)-1].Name, st)
	}
	if len(header) > maxRequestHeaders {
		return expecting(fail(result.GatewayConfig, "the Cookie header is %d bytes, over Envoy's default %d", len(header), maxRequestHeaders), expected, actual)
	}
	return expecting(pass("%s's session is split into %s; every part is needed and forwarded", u.LoginName(), strings.Join(names, ", ")), expected, actual)
}

// splitParts returns the largest family of cookies named <base>_0, <base>_1, ... (oauth2-proxy's split), in
// order; nil when no cookie is split.
func splitParts(cookies []*http.Cookie) []*http.Cookie {
	byBase := map[string][]*http.Cookie{}
	for _, c := range cookies {
		i := strings.LastIndex(c.Name, "_")
		if i <= 0 {
			continue
		}
		if n := c.Name[i+1:]; n != "" && strings.Trim(n, "0123456789") == "" {
			byBase[c.Name[:i]] = append(byBase[c.Name[:i]], c)
		}
	}
	var best []*http.Cookie
	for base, cs := range byBase {
		sort.Slice(cs, func(i, j int) bool { // _2 before _10
			if len(cs[i].Name) != len(cs[j].Name) {
				return len(cs[i].Name) < len(cs[j].Name)
			}
			return cs[i].Name < cs[j].Name
		})
		if cs[0].Name != base+"_0" {
			continue
		}
		if len(cs) > len(best) {
			best = cs
		}
	}
	return best
}
