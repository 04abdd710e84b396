package oauth2proxy

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestUnauthenticatedAnswers(t *testing.T) {
	cases := []struct {
		name       string
		edit       func(*Config)
		uri        string
		accept     string
		wantStatus int
		wantJSON   bool
	}{
		{name: "KFP v2 API path", uri: "/pipeline/apis/v2beta1/experiments?namespace=kubeflow-user-example-com", wantStatus: 401, wantJSON: true},
		{name: "KFP v1 API path", uri: "/pipeline/apis/v1beta1/healthz", wantStatus: 401, wantJSON: true},
		{name: "anchored ml_metadata", uri: "/ml_metadata.MetadataStoreService/GetArtifacts", wantStatus: 401, wantJSON: true},
		{name: "ml_metadata not at start is a browser path", uri: "/x/ml_metadata", wantStatus: 403},
		{name: "browser path", uri: "/pipeline/", wantStatus: 403},
		{name: "AJAX ignored when not detected", uri: "/pipeline/", accept: "application/json", wantStatus: 403},
		{name: "AJAX detected", edit: func(c *Config) { c.DetectAJAX = true }, uri: "/pipeline/", accept: "application/json", wantStatus: 401, wantJSON: true},
		{name: "AJAX among several types", edit: func(c *Config) { c.DetectAJAX = true }, uri: "/", accept: "text/html, application/json", wantStatus: 401, wantJSON: true},
		{name: "AJAX with parameters is not exact", edit: func(c *Config) { c.DetectAJAX = true }, uri: "/", accept: "application/json;q=0.9", wantStatus: 403},
		{name: "skip provider button", edit: func(c *Config) { c.SkipProviderButton = true }, uri: "/pipeline/", wantStatus: 302},
		{name: "skip provider button, API path still 401", edit: func(c *Config) { c.SkipProviderButton = true }, uri: "/pipeline/apis/v2beta1/runs", wantStatus: 401, wantJSON: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.edit)
			hdr := http.Header{}
			if tc.accept != "" {
				hdr.Set("Accept", tc.accept)
			}
			r := h.get(tc.uri, hdr)
			if r.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %.200s", r.StatusCode, tc.wantStatus, r.body)
			}
			if tc.wantJSON {
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q, want application/json", ct)
				}
				if r.body != "{}" {
					t.Errorf("body %q, want {}", r.body)
				}
			}
			if h.upstream.hits != 0 {
				t.Errorf("upstream reached %d times by an unauthenticated request", h.upstream.hits)
			}
		})
	}
}

func TestSignInPage(t *testing.T) {
	h := newHarness(t, nil)
	r := h.get("/pipeline/?ns=a&b=c", nil)
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", r.StatusCode)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q, want text/html", ct)
	}
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control %q, want oauth2-proxy's no-cache set", cc)
	}
	form := parseSignInForm(t, r.body)
	if form.method != "GET" || form.action != "/oauth2/start" {
		t.Errorf("form %s %s, want GET /oauth2/start", form.method, form.action)
	}
	if form.rd != "/pipeline/?ns=a&b=c" {
		t.Errorf("rd %q, want the original request URI", form.rd)
	}
	if form.button != "Sign in with Dex" {
		t.Errorf("button %q, want %q", form.button, "Sign in with Dex")
	}
	if lines := setCookieLines(r); len(lines) != 0 {
		t.Errorf("no cookie was sent, yet Set-Cookie %q (oauth2-proxy clears only cookies the request carries)", lines)
	}

	// With a (stale) session cookie, the page clears it.
	r = h.get("/", nil, &http.Cookie{Name: "oauth2_proxy_kubeflow", Value: "stale"})
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", r.StatusCode)
	}
	c := cookieNamed(r.Cookies(), "oauth2_proxy_kubeflow")
	if c == nil || c.Value != "" || !c.Expires.Before(h.clock.Now()) {
		t.Errorf("session cookie not cleared: %q", setCookieLines(r))
	}
}

func TestSignInPageDisplayName(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ProviderDisplayName = "Corporate SSO" })
	form := parseSignInForm(t, h.get("/", nil).body)
	if form.button != "Sign in with Corporate SSO" {
		t.Errorf("button %q", form.button)
	}
}

type signInForm struct{ method, action, rd, button string }

// parseSignInForm reads the page as a browser-stand-in client would: the first form, its rd input and button.
func parseSignInForm(t *testing.T, body string) signInForm {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing page: %v", err)
	}
	var f signInForm
	var inForm bool
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := func(k string) string {
				for _, a := range n.Attr {
					if a.Key == k {
						return a.Val
					}
				}
				return ""
			}
			switch {
			case n.Data == "form" && f.action == "":
				f.method, f.action, inForm = attr("method"), attr("action"), true
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
				inForm = false
				return
			case inForm && n.Data == "input" && attr("name") == "rd":
				f.rd = attr("value")
			case inForm && n.Data == "button" && n.FirstChild != nil:
				f.button = strings.TrimSpace(n.FirstChild.Data)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if f.action == "" {
		t.Fatalf("no form in page: %.300s", body)
	}
	return f
}
