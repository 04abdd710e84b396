package dex

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// page is a parsed HTML page, searched the way a scraper written for real Dex would.
type page struct{ root *html.Node }

func parsePage(t *testing.T, body string) page {
	t.Helper()
	n, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return page{n}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

func (p page) all(tag string) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(p.root)
	return out
}

// linkFor finds the connector link whose button says text.
func (p page) linkFor(t *testing.T, label string) string {
	t.Helper()
	for _, a := range p.all("a") {
		if strings.Contains(text(a), label) {
			return attr(a, "href")
		}
	}
	t.Fatalf("no link %q", label)
	return ""
}

// formWith returns the action and hidden fields of the post form whose hidden inputs include name=value.
func (p page) formWith(t *testing.T, name, value string) (string, url.Values) {
	t.Helper()
	for _, f := range p.all("form") {
		if attr(f, "method") != "post" {
			continue
		}
		fields := url.Values{}
		sub := page{f}
		for _, in := range sub.all("input") {
			if attr(in, "type") == "hidden" {
				fields.Add(attr(in, "name"), attr(in, "value"))
			}
		}
		if name == "" || fields.Get(name) == value {
			return attr(f, "action"), fields
		}
	}
	t.Fatalf("no post form with %s=%s", name, value)
	return "", nil
}

func resolve(t *testing.T, base, ref string) string {
	t.Helper()
	return mustURL(t, base).ResolveReference(mustURL(t, ref)).String()
}

// TestWholeLoginTwoConnectorsForcedApproval walks the pages like a browser: the selection page, the LDAP-like
// connector's form, the approval screen forced by approval_prompt=force, then the token exchange.
func TestWholeLoginTwoConnectorsForcedApproval(t *testing.T) {
	t.Parallel()
	e := newEnv(t, twoConnectors)
	if err := e.srv.RegisterConnector("ldap", "LDAP", stubLDAP{}); err != nil {
		t.Fatal(err)
	}
	start := e.issuer() + "/auth?" + authQuery(url.Values{"approval_prompt": {"force"}}).Encode()
	sel := e.get(start)
	if sel.status != http.StatusOK {
		t.Fatalf("selection page: %d", sel.status)
	}
	p := parsePage(t, sel.body)
	if titles := p.all("title"); len(titles) != 1 || text(titles[0]) != "dex" {
		t.Error("title is not dex")
	}

	connURL := resolve(t, start, p.linkFor(t, "Log in with LDAP"))
	r := e.get(connURL)
	if r.status != http.StatusFound {
		t.Fatalf("connector: %d", r.status)
	}
	loginURL := resolve(t, connURL, r.location())
	form := e.get(loginURL)
	fp := parsePage(t, form.body)
	action, _ := fp.formWith(t, "", "")
	var names []string
	for _, in := range fp.all("input") {
		names = append(names, attr(in, "name"))
	}
	if strings.Join(names, ",") != "login,password" || len(fp.all("button")) != 1 || attr(fp.all("button")[0], "id") != "submit-login" {
		t.Errorf("form inputs %v", names)
	}
	back := ""
	for _, a := range fp.all("a") {
		if text(a) == "Select another login method." {
			back = attr(a, "href")
		}
	}
	if !strings.HasPrefix(back, "/dex/auth?") || !strings.Contains(back, "approval_prompt=force") {
		t.Errorf("back link %q", back)
	}

	r = e.postForm(resolve(t, loginURL, action), url.Values{"login": {"jane"}, "password": {"pw"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/dex/approval?req=") {
		t.Fatalf("login: %d %q", r.status, r.location())
	}
	approvalURL := resolve(t, loginURL, r.location())
	ap := parsePage(t, e.get(approvalURL).body)
	apAction, fields := ap.formWith(t, "approval", "approve")
	if apAction != "" {
		t.Errorf("approval form has an action %q", apAction)
	}
	r = e.postForm(approvalURL, fields) // no action: post to the page's own URL
	if r.status != http.StatusSeeOther {
		t.Fatalf("approve: %d %q", r.status, r.body)
	}
	cb := mustQuery(t, r.location())
	if cb.Get("state") != "st4te" {
		t.Errorf("state %q", cb.Get("state"))
	}
	tok := e.token(codeForm(cb.Get("code"), nil), confClient, confSecret)
	var body struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal([]byte(tok.body), &body); err != nil || tok.status != 200 {
		t.Fatalf("token: %d %q", tok.status, tok.body)
	}
	c := unverifiedClaims(t, body.IDToken)
	if c["email"] != "jane@example.com" || c["preferred_username"] != "jane" || c["name"] != "Jane Doe" {
		t.Errorf("claims %v", c)
	}
	if g, _ := c["groups"].([]any); len(g) != 1 || g[0] != "admins" {
		t.Errorf("groups %v", c["groups"])
	}
}

// TestWholeLoginKubeflowDefault is the Kubeflow 1.9+ sequence: one connector, skip approval, relative callback.
func TestWholeLoginKubeflowDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	q := authQuery(url.Values{"prompt": {"none"}})
	r := e.get("/dex/auth?" + q.Encode())
	if r.status != http.StatusFound || r.location() != "/dex/auth/local?"+q.Encode() {
		t.Fatalf("auth: %d %q", r.status, r.location())
	}
	r = e.get(r.location())
	loc := r.location()
	if !strings.HasPrefix(loc, "/dex/auth/local/login?back=&state=") {
		t.Fatalf("connector: %q", loc)
	}
	r = e.postForm(loc, url.Values{"login": {testEmail}, "password": {testPassword}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/oauth2/callback?code=") {
		t.Fatalf("login: %d %q", r.status, r.location())
	}
}
