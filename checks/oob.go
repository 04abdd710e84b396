package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/auth/oob"
	"github.com/kfp-authcheck/kfp-authcheck/auth/tokencache"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// oobNeeds: a Dex with the public OOB client and a local user to log in as.
var oobNeeds = []target.Capability{target.CapDex, target.CapDexLocal, target.CapOOBClient}

func init() {
	for _, c := range []*Check{
		{ID: "OOB-001", Title: "the issuer's discovery document is reachable and names the issuer exactly (the cache key)",
			References: []string{"deployKF DeployKFCredentialsOutOfBand"}, Run: checkOOBDiscovery},
		{ID: "OOB-002", Title: "the OOB PKCE login shows Dex's code page and the code redeems without a client secret",
			References: []string{"deployKF#45", "dex#469", "dex RedirectURIOOB code"}, Run: checkOOBLogin},
		{ID: "OOB-003", Title: "PKCE is enforced: a missing or wrong code_verifier is invalid_grant, and a code works once",
			References: []string{"RFC 7636", "deployKF PKCE code"}, Run: checkOOBPKCE},
		{ID: "OOB-004", Title: "response_type token with the OOB redirect is refused, and a confidential client cannot use OOB",
			References: []string{"dex server code", "dex#469"}, Run: checkOOBImplicitRefused},
		{ID: "OOB-005", Title: "the OOB ID token as Bearer lists the user's experiments; a forged token is refused",
			References: []string{"oauth2-proxy#1350", "deployKF#45"}, Needs: []target.Capability{target.CapGateway}, Run: checkOOBBearer},
		{ID: "OOB-006", Title: "after the ID token expires, refresh gives a new ID token and a rotated refresh token; the old one then fails",
			References: []string{"deployKF refresh config (idle 168h / total 2160h)"},
			Needs:      []target.Capability{target.CapClock}, Exclusive: true, Run: checkOOBRefreshRotation},
		{ID: "OOB-007", Title: "a refresh past the idle or absolute limit fails cleanly and the client logs in again",
			References: []string{"deployKF docs \"Refresh Token Expiry\"", "default_values"},
			Needs:      []target.Capability{target.CapClock}, Exclusive: true, Applies: hasRefreshLimits, Run: checkOOBRefreshExpiry},
		{ID: "OOB-010", Severity: Should, Title: "the connector issues refresh tokens (warn where not: re-login at every ID-token expiry)",
			References: []string{"deployKF default_values connector note"}, Run: checkOOBConnectorRefresh},
		{ID: "OOB-011", Severity: Should, Title: "a PKCE downgrade to code_challenge_method=plain is recorded (warn where accepted)",
			References: []string{"RFC 7636 section 7.2", "dex PKCE code"}, Run: checkOOBPlainPKCE},
	} {
		c.Family = "OOB"
		if c.Severity == "" {
			c.Severity = Must
		}
		c.Needs = append(append([]target.Capability{}, oobNeeds...), c.Needs...)
		register(c)
	}
}

// The checks that refresh (OOB-006, 007) are Exclusive for a reason beyond the clock: Dex keeps one
// refresh token per user, connector and client, and a new login through the same client deletes the previous
// one (server/handlers.go exchangeAuthCode). A parallel OOB login of the same user would revoke their token.

// nowOf is the target's clock where it has one (the embedded stack's), so that the client's expiry decisions
// and ID-token checks agree with Dex's after a check moves the clock.
func nowOf(t *target.Target) func() time.Time {
	if c, ok := t.Clock.(interface{ Now() time.Time }); ok {
		return c.Now
	}
	return time.Now
}

// oobTransport trusts the target's TLS settings.
func (e *Env) oobTransport() http.RoundTripper {
	return &http.Transport{TLSClientConfig: e.Target.TLS.Clone(), Proxy: http.ProxyFromEnvironment}
}

// oobConfig is the OOB client's configuration for the target; rt (default oobTransport) carries its requests.
func (e *Env) oobConfig(rt http.RoundTripper) oob.Config {
	if rt == nil {
		rt = e.oobTransport()
	}
	return oob.Config{Issuer: e.Target.IssuerURL, ClientID: e.Target.OOBClientID,
		HTTPClient: &http.Client{Timeout: e.Target.RequestTimeout, Transport: rt}, Now: nowOf(e.Target)}
}

// oobAuthorizer is the scripted browser logging in as the first local user.
func (e *Env) oobAuthorizer() (*oob.Browser, error) {
	u, err := e.FirstUser("local")
	if err != nil {
		return nil, err
	}
	b, err := e.Browser()
	if err != nil {
		return nil, err
	}
	return &oob.Browser{Browser: b, Username: u.LoginName(), Password: u.Password, Connector: u.Connector}, nil
}

// oobLogin discovers the issuer and logs in once through the scripted browser.
func (e *Env) oobLogin(ctx context.Context) (*oob.Client, *oob.Token, *oob.Browser, error) {
	c, err := oob.Discover(ctx, e.oobConfig(nil))
	if err != nil {
		return nil, nil, nil, err
	}
	a, err := e.oobAuthorizer()
	if err != nil {
		return nil, nil, nil, err
	}
	tok, err := c.Login(ctx, a)
	if err != nil {
		return c, nil, a, err
	}
	e.remember(tok)
	return c, tok, a, nil
}

// remember teaches the redactor a token's secrets.
func (e *Env) remember(tok *oob.Token) {
	if tok != nil {
		e.Target.Redactor.Add(tok.AccessToken)
		e.Target.Redactor.Add(tok.IDToken)
		e.Target.Redactor.Add(tok.RefreshToken)
	}
}

// oobFail reports a failed OOB step with the token endpoint's answer when there is one.
func oobFail(what string, err error) result.Result {
	if te, ok := oob.AsTokenError(err); ok {
		return expecting(fail(result.UnexpectedResponse, "%s: %v", what, err), "200 with tokens",
			fmt.Sprintf("%d %s %q", te.Status, te.Code, te.Description))
	}
	var oe *oob.Error
	if errors.As(err, &oe) && oe.Step == "discovery" && strings.Contains(err.Error(), "did not match") {
		return fail(result.ConfigError, "%s: %v", what, err)
	}
	return failFromError(what, err)
}

// withEvidence attaches a scripted browser's history to r.
func withEvidence(r result.Result, a *oob.Browser) result.Result {
	if a != nil {
		r.Evidence = a.Browser.History()
	}
	return r
}

// checkOOBDiscovery is OOB-001.
func checkOOBDiscovery(ctx context.Context, env *Env) result.Result {
	iss := env.Target.IssuerURL
	c, err := oob.Discover(ctx, env.oobConfig(nil))
	if err != nil {
		return expecting(oobFail("discovery at "+iss+"/.well-known/openid-configuration", err), "issuer "+iss, err.Error())
	}
	ep := c.Endpoint()
	if !strings.HasPrefix(ep.TokenURL, "http") || !strings.HasPrefix(ep.AuthURL, "http") {
		return fail(result.UnexpectedResponse, "discovery lacks the authorization or token endpoint")
	}
	return expecting(pass("discovery names the issuer %s exactly; token endpoint %s", iss, ep.TokenURL),
		"issuer "+iss, "issuer "+c.Issuer())
}

// checkOOBLogin is OOB-002.
func checkOOBLogin(ctx context.Context, env *Env) result.Result {
	_, tok, a, err := env.oobLogin(ctx)
	if err != nil {
		return withEvidence(oobFail("OOB login", err), a)
	}
	want := env.Target.OOBClientID
	aud := strings.Join(tok.Claims.Audience, ",")
	var r result.Result
	switch {
	case aud != want:
		r = fail(result.Audience, "the ID token's audience is %s, not the OOB client %s", aud, want)
	case tok.RefreshToken == "":
		r = fail(result.UnexpectedResponse, "no refresh token despite offline_access")
	default:
		r = pass("Dex's code page gave a code; redeemed without a secret for an ID token of %s (aud %s) and a refresh token", tok.Claims.Email, aud)
	}
	return withEvidence(expecting(r, "code page, then tokens with aud "+want, "aud "+aud), a)
}

// checkOOBPKCE is OOB-003.
func checkOOBPKCE(ctx context.Context, env *Env) result.Result {
	c, err := oob.Discover(ctx, env.oobConfig(nil))
	if err != nil {
		return oobFail("discovery", err)
	}
	a, err := env.oobAuthorizer()
	if err != nil {
		return errorf(result.ConfigError, "%v", err)
	}
	verifier := oob.NewVerifier()
	code, err := a.Authorize(ctx, c.AuthCodeURL("pkce", verifier))
	if err != nil {
		return withEvidence(failFromError("the OOB login", err), a)
	}
	var (
		seen     []string
		redeemed []string // attempts that got tokens
		other    []string // attempts refused with something other than invalid_grant (not a PKCE answer)
	)
	refused := func(label, verifier string) bool {
		tok, err := c.Exchange(ctx, code, verifier)
		env.remember(tok)
		te, ok := oob.AsTokenError(err)
		switch {
		case err == nil:
			seen = append(seen, label+": tokens")
			redeemed = append(redeemed, label)
		case ok:
			seen = append(seen, fmt.Sprintf("%s: %d %s", label, te.Status, te.Code))
			if te.Status != http.StatusBadRequest || te.Code != "invalid_grant" {
				other = append(other, fmt.Sprintf("%s: %d %s", label, te.Status, te.Code))
			}
		default:
			seen = append(seen, fmt.Sprintf("%s: %v", label, err))
			other = append(other, fmt.Sprintf("%s: %v", label, err))
		}
		return ok && te.Status == http.StatusBadRequest && te.Code == "invalid_grant"
	}
	missing := refused("no verifier", "")
	wrong := refused("wrong verifier", oob.NewVerifier())
	if !missing || !wrong {
		actual := strings.Join(seen, "; ")
		const expected = "no verifier: 400 invalid_grant; wrong verifier: 400 invalid_grant"
		if len(redeemed) > 0 {
			return expecting(fail(result.NotSupported, "Dex redeemed a PKCE code without the right code_verifier (%s)",
				strings.Join(redeemed, ", ")), expected, actual)
		}
		// Refused, but not as PKCE refuses (invalid_client is the client's registration, not the verifier): the
		// PKCE property is not shown either way, and the answer is named as what it is.
		return expecting(fail(result.UnexpectedResponse, "the token endpoint refused the code, but not with invalid_grant "+
			"(%s): that is not a PKCE answer; PKCE enforcement could not be observed", strings.Join(other, "; ")), expected, actual)
	}
	tok, goodErr := c.Exchange(ctx, code, verifier)
	env.remember(tok)
	seen = append(seen, fmt.Sprintf("right verifier: err=%v", goodErr))
	replay := refused("replayed code", verifier)
	actual := strings.Join(seen, "; ")
	expected := "no verifier: 400 invalid_grant; wrong verifier: 400 invalid_grant; right verifier: tokens; replayed code: 400 invalid_grant"
	switch {
	case goodErr != nil:
		return expecting(oobFail("the right verifier after refused attempts", goodErr), expected, actual)
	case !replay:
		return expecting(fail(result.UnexpectedResponse, "a redeemed code was accepted again"), expected, actual)
	}
	return expecting(pass("missing and wrong verifiers are invalid_grant, the code is single-use"), expected, actual)
}

// oobAuthURL is an OOB authorization request for client, with extra parameters.
func oobAuthURL(c *oob.Client, clientID string, extra url.Values) string {
	q := url.Values{"client_id": {clientID}, "redirect_uri": {oob.RedirectURI}, "response_type": {"code"},
		"scope": {strings.Join(oob.DefaultScopes, " ")}, "state": {"probe"}}
	for k, v := range extra {
		q[k] = v
	}
	return c.Endpoint().AuthURL + "?" + q.Encode()
}

// firstAnswer follows Dex's /auth redirects to the connector's /auth/<id> and returns the answer there: where Dex
// validates the request. It does not follow a redirect back to the client's redirect_uri.
func (e *Env) firstAnswer(ctx context.Context, rawURL string) (int, string, string, error) {
	hc := e.HTTPClient()
	for range 4 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return 0, "", "", err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, "", "", err
		}
		body := make([]byte, 4096)
		n, _ := resp.Body.Read(body)
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || !strings.Contains(loc, "/auth/") || strings.Contains(loc, "/login") {
			return resp.StatusCode, loc, string(body[:n]), nil
		}
		next, err := req.URL.Parse(loc)
		if err != nil {
			return 0, "", "", err
		}
		rawURL = next.String()
	}
	return 0, "", "", errors.New("too many redirects inside Dex")
}

// checkOOBImplicitRefused is OOB-004.
func checkOOBImplicitRefused(ctx context.Context, env *Env) result.Result {
	c, err := oob.Discover(ctx, env.oobConfig(nil))
	if err != nil {
		return oobFail("discovery", err)
	}
	u := oobAuthURL(c, env.Target.OOBClientID, url.Values{"response_type": {"code token"}, "nonce": {"n"},
		"connector_id": {"local"}})
	status, loc, _, err := env.firstAnswer(ctx, u)
	if err != nil {
		return failFromError("GET the authorization URL", err)
	}
	actual := fmt.Sprintf("%d %s", status, redactedLocation(loc))
	expected := "a refusal: 303 back with error=..., or an error page"
	locURL, _ := url.Parse(loc)
	var errParam string
	if locURL != nil {
		errParam = locURL.Query().Get("error")
	}
	if strings.Contains(loc, "access_token") || (status == http.StatusFound && errParam == "") {
		return expecting(fail(result.NotSupported, "Dex started a token-in-URL flow with the OOB redirect"), expected, actual)
	}
	if errParam == "" && status < 400 {
		return expecting(fail(result.UnexpectedResponse, "no refusal for response_type=code token with the OOB redirect"), expected, actual)
	}
	msg := fmt.Sprintf("response_type=code token with the OOB redirect refused (%s)", actual)
	if locURL != nil {
		msg = fmt.Sprintf("refused: %s %q", errParam, locURL.Query().Get("error_description"))
	}
	// A confidential client whose redirect URIs do not list the OOB URI cannot use it. Which client is the
	// gateway's comes from the profile; without one there is none to try.
	p := env.Target.Profile
	if p == nil || p.Gateway == nil || p.Gateway.ClientID == "" {
		return expecting(warn(result.MissingCapability, "%s; the gateway's confidential client is not known (no profile names it), "+
			"so whether it can use the OOB redirect was not tried (give --profile)", msg), expected, actual)
	}
	cid := p.Gateway.ClientID
	status, loc, body, err := env.firstAnswer(ctx, oobAuthURL(c, cid, url.Values{"connector_id": {"local"}}))
	if err != nil {
		return failFromError("GET the authorization URL for the gateway's client", err)
	}
	answer := fmt.Sprintf("%d %s", status, redactedLocation(loc))
	switch {
	case status == http.StatusNotFound:
		// Dex's answer to a client_id it does not hold ("Invalid client_id"): this is not a client that was
		// allowed anything, and the gateway's real client was not tried.
		return expecting(warn(result.ConfigError, "%s; Dex does not know the client %s the profile names as the gateway's (404 %s): "+
			"the confidential client could not be tried (is this the right profile?)", msg, cid, snippet(body, "Invalid client_id")),
			"400 Unregistered redirect_uri for the gateway's client", answer)
	case status == http.StatusBadRequest:
		msg += fmt.Sprintf("; confidential client %s: 400 (%s)", cid, snippet(body, "Unregistered redirect_uri"))
	default:
		return expecting(fail(result.NotSupported, "the confidential client %s was allowed the OOB redirect", cid),
			"400 Unregistered redirect_uri", answer)
	}
	return expecting(pass("%s", msg), expected, actual)
}

// redactedLocation drops the query values of a Location, which can hold codes and tokens, but keeps error names.
func redactedLocation(loc string) string {
	u, err := url.Parse(loc)
	if err != nil || u.RawQuery == "" {
		return loc
	}
	q := u.Query()
	for k := range q {
		if k != "error" && k != "error_description" && k != "state" {
			q.Set(k, "REDACTED")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// snippet returns want when body contains it, else a short note.
func snippet(body, want string) string {
	if strings.Contains(body, want) {
		return want
	}
	return "an error page"
}

// checkOOBBearer is OOB-005.
func checkOOBBearer(ctx context.Context, env *Env) result.Result {
	_, tok, a, err := env.oobLogin(ctx)
	if err != nil {
		return withEvidence(oobFail("OOB login", err), a)
	}
	u, _ := env.FirstUser("local")
	api := env.API(nil)
	api.Header = http.Header{"Authorization": {"Bearer " + tok.IDToken}}
	exps, err := api.ListExperiments(ctx, u.Namespace)
	if err != nil {
		return expecting(failFromError("list experiments with the OOB ID token", err), "200", err.Error())
	}
	forged, err := forgeToken(tok.Claims, env.Target.IssuerURL)
	if err != nil {
		return errorf(result.Internal, "forge a token: %v", err)
	}
	env.Target.Redactor.Add(forged)
	api.Header = http.Header{"Authorization": {"Bearer " + forged}}
	_, ferr := api.ListExperiments(ctx, u.Namespace)
	if ferr == nil {
		return fail(result.Audience, "a token signed by an unknown key with aud %s was accepted", env.Target.OOBClientID)
	}
	return expecting(pass("the OOB ID token lists %d experiment(s) in %s; a forged token is refused (%v)", len(exps), u.Namespace, reasonOf(ferr)),
		"200 with the ID token; refusal for a forged one", fmt.Sprintf("200; forged: %v", reasonOf(ferr)))
}

// advance moves the target's clock.
func advance(t *target.Target, d time.Duration) { t.Clock.Advance(d) }

// checkOOBRefreshRotation is OOB-006.
func checkOOBRefreshRotation(ctx context.Context, env *Env) result.Result {
	t := env.Target
	c, tok, a, err := env.oobLogin(ctx)
	if err != nil {
		return withEvidence(oobFail("OOB login", err), a)
	}
	// Past the ID token's expiry: it is refused at the gateway, the refresh token still works.
	advance(t, tok.Claims.Expiry.Add(time.Minute).Sub(nowOf(t)()))
	if _, err := c.Verify(ctx, tok.IDToken); err == nil {
		return fail(result.UnexpectedResponse, "the ID token still verifies after its expiry")
	}
	next, err := c.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		return oobFail("refresh after the ID token expired", err)
	}
	env.remember(next)
	if next.RefreshToken == tok.RefreshToken {
		return fail(result.UnexpectedResponse, "the refresh token was not rotated")
	}
	u, _ := env.FirstUser("local")
	api := env.API(nil)
	api.Header = http.Header{"Authorization": {"Bearer " + next.IDToken}}
	if _, err := api.ListExperiments(ctx, u.Namespace); err != nil && t.Has(target.CapGateway) {
		return failFromError("list experiments with the refreshed ID token", err)
	}
	reuse := time.Duration(0)
	if t.Profile != nil && t.Profile.Dex != nil {
		reuse = t.Profile.Dex.RefreshReuseInterval.Duration
	}
	advance(t, reuse+time.Second)
	_, err = c.Refresh(ctx, tok.RefreshToken)
	te, ok := oob.AsTokenError(err)
	actual := fmt.Sprintf("rotated; old token after %s: %v", reuse+time.Second, err)
	if !ok || te.Status != http.StatusBadRequest {
		return expecting(fail(result.UnexpectedResponse, "the spent refresh token was accepted again, or not refused with 400"),
			"400 invalid_request for the old token", actual)
	}
	return expecting(pass("refresh gave a new ID token and a rotated refresh token; the old one is refused: %s %q", te.Code, te.Description),
		"new tokens, then 400 for the old refresh token", fmt.Sprintf("400 %s", te.Code))
}

// hasRefreshLimits is OOB-007's Applies: a profile that sets no refresh-token limit has nothing to expire.
func hasRefreshLimits(t *target.Target) *Inapplicable {
	if t.Profile == nil || t.Profile.Dex == nil || (t.Profile.Dex.RefreshIdle.Duration == 0 && t.Profile.Dex.RefreshAbsolute.Duration == 0) {
		return &Inapplicable{Reason: result.NotSupported, Message: "the profile sets no refresh-token idle or absolute limit"}
	}
	return nil
}

// checkOOBRefreshExpiry is OOB-007.
func checkOOBRefreshExpiry(ctx context.Context, env *Env) result.Result {
	t := env.Target
	idle, abs := t.Profile.Dex.RefreshIdle.Duration, t.Profile.Dex.RefreshAbsolute.Duration
	dir, err := os.MkdirTemp("", "kfp-authcheck-oob-")
	if err != nil {
		return errorf(result.Internal, "%v", err)
	}
	defer os.RemoveAll(dir)
	a, err := env.oobAuthorizer()
	if err != nil {
		return errorf(result.ConfigError, "%v", err)
	}
	src := &oob.Source{Config: env.oobConfig(nil), Cache: &tokencache.Cache{Path: filepath.Join(dir, "dkf_credentials.json")}, Authorizer: a}
	var notes []string
	// expire logs in, lets the token lapse by the limit's rule, and expects Dex's refusal then a new login.
	expire := func(name string, step func(*oob.Source) error) result.Result {
		if r, err := src.Token(ctx); err != nil || r.Outcome != oob.Interactive && r.Outcome != oob.Cached {
			return oobFail(name+": first login", err)
		}
		if err := step(src); err != nil {
			return oobFail(name+": refreshing within the limit", err)
		}
		r, err := src.Token(ctx)
		if err != nil {
			return oobFail(name+": the login after the refused refresh", err)
		}
		env.remember(&oob.Token{IDToken: r.Entry.IDToken, RefreshToken: r.Entry.RefreshToken, AccessToken: r.Entry.AccessToken})
		te, ok := oob.AsTokenError(r.RefreshErr)
		if r.Outcome != oob.Interactive || !ok || te.Status != http.StatusBadRequest {
			return expecting(fail(result.UnexpectedResponse, "%s: the expired refresh token was not refused cleanly", name),
				"400 invalid_request \"Refresh token expired.\", then the interactive login", fmt.Sprintf("%s, refresh error %v", r.Outcome, r.RefreshErr))
		}
		notes = append(notes, fmt.Sprintf("%s: %d %s %q, then a new login", name, te.Status, te.Code, te.Description))
		return result.Result{}
	}
	if idle > 0 {
		if r := expire("idle "+idle.String(), func(*oob.Source) error { advance(t, idle+time.Minute); return nil }); r.Status != "" {
			return r
		}
	}
	if abs > 0 {
		r := expire("absolute "+abs.String(), func(s *oob.Source) error {
			// Refresh often enough to stay within the idle limit until the absolute one passes.
			step := abs / 4
			if idle > 0 && idle < step {
				step = idle - time.Minute
			}
			for spent := time.Duration(0); spent+step <= abs; spent += step {
				advance(t, step)
				if _, err := s.Token(ctx); err != nil {
					return err
				}
			}
			advance(t, step)
			return nil
		})
		if r.Status != "" {
			return r
		}
	}
	return pass("%s", strings.Join(notes, "; "))
}

// checkOOBConnectorRefresh is OOB-010.
func checkOOBConnectorRefresh(ctx context.Context, env *Env) result.Result {
	_, tok, a, err := env.oobLogin(ctx)
	if err != nil {
		return withEvidence(oobFail("OOB login", err), a)
	}
	u, _ := env.FirstUser("local")
	if tok.RefreshToken == "" {
		return warn(result.NotSupported, "connector %s issues no refresh token: users log in again at every ID-token expiry", u.Connector)
	}
	return pass("connector %s issues refresh tokens with offline_access", u.Connector)
}

// checkOOBPlainPKCE is OOB-011.
func checkOOBPlainPKCE(ctx context.Context, env *Env) result.Result {
	c, err := oob.Discover(ctx, env.oobConfig(nil))
	if err != nil {
		return oobFail("discovery", err)
	}
	a, err := env.oobAuthorizer()
	if err != nil {
		return errorf(result.ConfigError, "%v", err)
	}
	verifier := oob.NewVerifier()
	code, err := a.Authorize(ctx, oobAuthURL(c, env.Target.OOBClientID, url.Values{"code_challenge": {verifier}, "code_challenge_method": {"plain"}}))
	if err != nil {
		// Refused at the authorization step: no downgrade possible.
		return withEvidence(pass("code_challenge_method=plain is refused: %v", reasonOf(err)), a)
	}
	tok, err := c.Exchange(ctx, code, verifier)
	env.remember(tok)
	if err != nil {
		return expecting(pass("a plain challenge is refused at the token endpoint"), "refused or recorded", err.Error())
	}
	return expecting(warn(result.PKCEDowngrade, "Dex accepts code_challenge_method=plain: a client can be downgraded to a PKCE challenge that equals the verifier"),
		"S256 only", "plain accepted")
}
