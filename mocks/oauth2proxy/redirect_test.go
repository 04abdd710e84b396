package oauth2proxy

import (
	"net/url"
	"testing"
)

// TestEndpointAllowed mirrors util.IsEndpointAllowed's cases: exact hosts, ".domain" and "*.domain" for
// subdomains, ports exact or "*", and an entry without a port allowing only URLs without one.
func TestEndpointAllowed(t *testing.T) {
	for _, c := range []struct {
		rd      string
		allowed []string
		want    bool
	}{
		{"https://example.com/x", []string{"example.com"}, true},
		{"https://a.example.com/x", []string{"example.com"}, false},
		{"https://a.example.com/x", []string{".example.com"}, true},
		{"https://example.com/x", []string{".example.com"}, true},
		{"https://a.example.com/x", []string{"*.example.com"}, true},
		{"https://badexample.com/x", []string{".example.com"}, false},
		{"https://example.com:8443/x", []string{"example.com"}, false},
		{"https://example.com:8443/x", []string{"example.com:8443"}, true},
		{"https://example.com:8443/x", []string{"example.com:*"}, true},
		{"https://evil.invalid/x", nil, false},
	} {
		u, _ := url.Parse(c.rd)
		if got := endpointAllowed(u, c.allowed); got != c.want {
			t.Errorf("%s with %v: %v, want %v", c.rd, c.allowed, got, c.want)
		}
	}
	p := &Proxy{cfg: Config{WhitelistDomains: []string{".example.com"}}}
	for rd, want := range map[string]bool{"/pipeline/": true, "//evil.invalid/": false, "/\\\\evil": false,
		"https://kubeflow.example.com/": true, "https://evil.invalid/": false, "javascript:alert(1)": false} {
		if got := p.isValidRedirect(rd); got != want {
			t.Errorf("isValidRedirect(%q) = %v, want %v", rd, got, want)
		}
	}
}
