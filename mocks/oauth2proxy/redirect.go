package oauth2proxy

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// invalidRedirectRegex is pkg/app/redirect's guard against "//", "/\" and the same with whitespace or dots
// between, which browsers treat as another host.
var invalidRedirectRegex = regexp.MustCompile(`[/\\](?:[\s\v]*|\.{1,2})[/\\]`)

// isValidRedirect mirrors redirect.validator.IsValidRedirect: a local path (not "//host" or a disguised form of
// it), or an http(s) URL whose host and port whitelist_domains allow (util.IsEndpointAllowed); nothing else.
func (p *Proxy) isValidRedirect(rd string) bool {
	switch {
	case rd == "":
		return false
	case strings.HasPrefix(rd, "/") && !strings.HasPrefix(rd, "//") && !invalidRedirectRegex.MatchString(rd):
		return true
	case strings.HasPrefix(rd, "http://") || strings.HasPrefix(rd, "https://"):
		u, err := url.Parse(rd)
		return err == nil && (endpointAllowed(u, p.cfg.WhitelistDomains) || mutate.On(mutate.OAuth2ProxyAnyRedirect))
	}
	return false
}

// endpointAllowed mirrors util.IsEndpointAllowed: a whitelist entry is a host (".example.com" and "*.example.com"
// also cover subdomains) with an optional port, "*" for any; an entry without a port allows only URLs without one.
func endpointAllowed(u *url.URL, allowed []string) bool {
	hostname := u.Hostname()
	for _, entry := range allowed {
		host, port := splitHostPort(entry)
		if host == "" || !hostnameAllowed(hostname, host) {
			continue
		}
		if port == "*" || port == u.Port() {
			return true
		}
	}
	return false
}

func hostnameAllowed(hostname, allowed string) bool {
	if hostname == strings.TrimPrefix(allowed, ".") || hostname == strings.TrimPrefix(allowed, "*.") {
		return true
	}
	return (strings.HasPrefix(allowed, ".") && strings.HasSuffix(hostname, allowed)) ||
		(strings.HasPrefix(allowed, "*.") && strings.HasSuffix(hostname, allowed[1:]))
}

// splitHostPort mirrors util.SplitHostPort: a trailing ":digits" or ":*" is the port; brackets come off.
func splitHostPort(hostport string) (host, port string) {
	host = hostport
	if colon := strings.LastIndexByte(host, ':'); colon != -1 && validOptionalPort(host[colon:]) {
		host, port = host[:colon], host[colon+1:]
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return host, port
}

func validOptionalPort(port string) bool {
	if port == "" || port == ":*" {
		return true
	}
	if port[0] != ':' {
		return false
	}
	for _, b := range port[1:] {
		if b < '0' || b > '9' {
			return false
		}
	}
	return true
}

// appRedirect mirrors redirect.appDirector.GetRedirect (without reverse-proxy headers): the rd query
// parameter, then X-Auth-Request-Redirect, then the request URI unless it is one of the proxy's own paths, then
// "/". Each candidate must pass isValidRedirect; a refused one falls through, which is how an open redirect
// ends at "/".
func (p *Proxy) appRedirect(r *http.Request) string {
	for _, rd := range []string{r.URL.Query().Get("rd"), r.Header.Get("X-Auth-Request-Redirect")} {
		if p.isValidRedirect(rd) {
			return rd
		}
		if rd != "" {
			p.log.Warn("refusing redirect target", "redirect", rd)
		}
	}
	uri := r.URL.RequestURI()
	if !p.isValidRedirect(uri) || strings.HasPrefix(uri, p.cfg.ProxyPrefix+"/") {
		return "/"
	}
	return uri
}
