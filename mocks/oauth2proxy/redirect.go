package oauth2proxy

import (
	"net/http"
	"regexp"
	"strings"
)

// invalidRedirectRegex is pkg/app/redirect's guard against "//", "/\" and the same with whitespace or dots
// between, which browsers treat as another host.
var invalidRedirectRegex = regexp.MustCompile(`[/\\](?:[\s\v]*|\.{1,2})[/\\]`)

// isValidRedirect mirrors redirect.validator.IsValidRedirect with no whitelist_domains: only local paths are
// followed; every absolute URL and "//host" is refused.
func isValidRedirect(rd string) bool {
	return strings.HasPrefix(rd, "/") && !strings.HasPrefix(rd, "//") && !invalidRedirectRegex.MatchString(rd)
}

// appRedirect mirrors redirect.appDirector.GetRedirect (without reverse-proxy headers): the rd query
// parameter, then X-Auth-Request-Redirect, then the request URI unless it is one of the proxy's own paths, then
// "/". Each candidate must pass isValidRedirect; a refused one falls through, which is how an open redirect
// ends at "/".
func (p *Proxy) appRedirect(r *http.Request) string {
	for _, rd := range []string{r.URL.Query().Get("rd"), r.Header.Get("X-Auth-Request-Redirect")} {
		if isValidRedirect(rd) {
			return rd
		}
		if rd != "" {
			p.log.Warn("refusing redirect target", "redirect", rd)
		}
	}
	uri := r.URL.RequestURI()
	if !isValidRedirect(uri) || strings.HasPrefix(uri, p.cfg.ProxyPrefix+"/") {
		return "/"
	}
	return uri
}
