package checks

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/auth/dexlogin"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func init() {
	register(&Check{ID: "OAUTH2P-006", Family: "OAUTH2P", Severity: Must,
		Needs:      []target.Capability{target.CapGateway, target.CapDex, target.CapDexLocal, target.CapCookieSession},
		Title:      "/oauth2/start?rd= with an absolute URL to another host does not send the browser there after the login",
		References: []string{"CHECKS.md additions", "oauth2-proxy pkg/app/redirect", "oauth2-proxy whitelist_domains"},
		Applies:    takesRD,
		Run:        checkOpenRedirect})
}

// takesRD is OAUTH2P-006's Applies: oidc-authservice has no start endpoint that takes rd.
func takesRD(t *target.Target) *Inapplicable {
	if t.Profile != nil && t.Profile.Gateway != nil && t.Profile.Gateway.Kind == "oidc-authservice" {
		return &Inapplicable{Reason: result.NotSupported, Message: "oidc-authservice has no start endpoint that takes rd: it returns to the URL the login started from"}
	}
	return nil
}

// foreignHost is the host OAUTH2P-006 asks to be sent to: a reserved name (RFC 6761 .invalid) that resolves
// nowhere, and the browser is told never to follow a redirect to it anyway.
const foreignHost = "kfp-authcheck-open-redirect.invalid"

// checkOpenRedirect is OAUTH2P-006: a login started at <proxy_prefix>/start?rd=https://<foreignHost>/..., as a
// phishing link would start it, in a browser that follows redirects only to the gateway's and the issuer's
// hosts. After the callback, oauth2-proxy sends the browser to rd only when it is a local path or whitelist_domains
// allows its host (pkg/app/redirect); otherwise to "/". A callback answered with a redirect to the foreign host is
// the open redirect. oidc-authservice has no start endpoint with rd (it keeps the original URL itself): n/a there.
func checkOpenRedirect(ctx context.Context, env *Env) result.Result {
	t := env.Target
	var g *profile.Gateway
	if t.Profile != nil {
		g = t.Profile.Gateway
	}
	prefix, callback := "/oauth2", "/oauth2/callback"
	if g != nil {
		prefix, callback = g.ProxyPrefix, g.CallbackPath
	}
	gw, err := url.Parse(t.GatewayURL)
	if err != nil {
		return errorf(result.ConfigError, "gateway URL: %v", err)
	}
	allowed := map[string]bool{gw.Host: true}
	if iss, err := url.Parse(t.IssuerURL); err == nil && iss.Host != "" {
		allowed[iss.Host] = true
	}
	b, err := browser.New(browser.Options{Timeout: t.RequestTimeout, TLSConfig: t.TLS, Redactor: t.Redactor,
		Follow: func(to *url.URL) bool { return allowed[to.Host] }})
	if err != nil {
		return errorf(result.Internal, "browser: %v", err)
	}
	evil := "https://" + foreignHost + "/after-login"
	start := t.GatewayURL + prefix + "/start?" + url.Values{"rd": {evil}}.Encode()
	u, _ := env.FirstUser("local")
	opts := env.loginOptions(u)
	opts.StartURL = start
	_, loginErr := dexlogin.Login(ctx, b, opts)
	// The callback's answer decides, whether or not the flow went on from it.
	var atCallback *result.Exchange
	for _, ex := range b.History() {
		if pu, err := url.Parse(ex.URL); err == nil && pu.Path == callback && ex.Status >= 300 && ex.Status < 400 {
			ex := ex
			atCallback = &ex
		}
	}
	const expected = "the callback redirects to a local path, not to the rd host"
	switch {
	case atCallback == nil && loginErr != nil:
		return withHistory(failFromError("login started with an absolute rd", loginErr), b)
	case atCallback == nil:
		return withHistory(errorf(result.LoginFlow, "the login never passed the callback %s", callback), b)
	}
	loc, _ := url.Parse(atCallback.Location)
	actual := fmt.Sprintf("callback %d to %s", atCallback.Status, atCallback.Location)
	if loc != nil && loc.Host != "" && !allowed[loc.Host] {
		if strings.EqualFold(loc.Hostname(), foreignHost) {
			return withHistory(expecting(fail(result.OpenRedirect, "after the login the gateway sent the browser to %s, the host rd named: an open redirect (whitelist_domains lets it through)", loc.Host),
				expected, actual), b)
		}
		return withHistory(expecting(warn(result.UnexpectedResponse, "after the login the gateway sent the browser to another host, %s", loc.Host), expected, actual), b)
	}
	if loginErr != nil {
		return withHistory(failFromError("login after the callback", loginErr), b)
	}
	return withHistory(expecting(pass("the rd to %s was refused: %s", foreignHost, actual), expected, actual), b)
}
