package dexlogin

import (
	"net/url"
	"regexp"
	"strings"
)

// dexStep is the Dex page a URL shows (server/handlers.go routes, all under the issuer path).
type dexStep int

const (
	notDex       dexStep = iota
	dexSelection         // GET /auth: the connector-selection page when several connectors exist
	dexConnector         // GET /auth/{connector}: redirects to the connector's login page
	dexLogin             // /auth/{connector}/login?state=: the password form
	dexApproval          // /approval?req=&hmac=: the "Grant Access" page
)

var (
	connectorPath = regexp.MustCompile(`/auth/([^/]+)$`)
	loginPath     = regexp.MustCompile(`/auth/([^/]+)/login$`)
)

// classifyDex tells which Dex page u is, and the connector in its path. Each pattern also needs the query
// parameter Dex itself requires there, so a gateway's own /auth page is not mistaken for Dex.
func classifyDex(u *url.URL) (dexStep, string) {
	q := u.Query()
	switch {
	case strings.HasSuffix(u.Path, "/auth") && q.Has("client_id"):
		return dexSelection, ""
	case loginPath.MatchString(u.Path) && q.Has("state"):
		return dexLogin, loginPath.FindStringSubmatch(u.Path)[1]
	case connectorPath.MatchString(u.Path) && q.Has("client_id"):
		return dexConnector, connectorPath.FindStringSubmatch(u.Path)[1]
	case strings.HasSuffix(u.Path, "/approval") && q.Has("req"):
		return dexApproval, ""
	}
	return notDex, ""
}

// issuerPrefix is the path before Dex's own routes, e.g. "/dex" for /dex/auth/local/login.
func issuerPrefix(u *url.URL) string {
	for _, route := range []string{"/auth", "/approval"} {
		if i := strings.LastIndex(u.Path, route); i >= 0 {
			return u.Path[:i]
		}
	}
	return ""
}

// sameOrigin reports whether two URLs share scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}
