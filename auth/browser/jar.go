package browser

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// recordingJar is a cookiejar.Jar that also remembers, per host, every path a cookie was set for.
// net/http/cookiejar cannot list its contents, but asking it for each remembered path lists every cookie it
// holds for a host, whatever the cookie's name: that is how gateway cookies are collected generically.
type recordingJar struct {
	jar   *cookiejar.Jar
	mu    sync.Mutex
	paths map[string]map[string]bool // hostname -> cookie paths seen
}

func newRecordingJar() (*recordingJar, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	return &recordingJar{jar: jar, paths: map[string]map[string]bool{}}, nil
}

// SetCookies implements http.CookieJar.
func (j *recordingJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.jar.SetCookies(u, cookies)
	host := strings.ToLower(u.Hostname())
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.paths[host] == nil {
		j.paths[host] = map[string]bool{}
	}
	for _, c := range cookies {
		p := c.Path
		if p == "" || !strings.HasPrefix(p, "/") {
			p = defaultCookiePath(u.Path)
		}
		j.paths[host][p] = true
	}
}

// Cookies implements http.CookieJar.
func (j *recordingJar) Cookies(u *url.URL) []*http.Cookie { return j.jar.Cookies(u) }

// hostCookies returns every cookie the jar would send to u's scheme and host on any path it has seen,
// one per name, sorted by name. Each path is asked with a trailing component so cookies scoped to it match.
func (j *recordingJar) hostCookies(u *url.URL) []*http.Cookie {
	host := strings.ToLower(u.Hostname())
	j.mu.Lock()
	paths := []string{"/"}
	for p := range j.paths[host] {
		paths = append(paths, p)
	}
	j.mu.Unlock()
	byName := map[string]*http.Cookie{}
	for _, p := range paths {
		probe := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: strings.TrimSuffix(p, "/") + "/x"}
		for _, c := range j.jar.Cookies(probe) {
			if _, dup := byName[c.Name]; !dup {
				byName[c.Name] = c
			}
		}
	}
	out := make([]*http.Cookie, 0, len(byName))
	for _, c := range byName {
		out = append(out, c)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// defaultCookiePath is RFC 6265 section 5.1.4: the request path up to its last "/", or "/".
func defaultCookiePath(requestPath string) string {
	i := strings.LastIndex(requestPath, "/")
	if i <= 0 || requestPath[0] != '/' {
		return "/"
	}
	return requestPath[:i]
}
