package browser

import (
	"bytes"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Hop is one response in a redirect chain, or the final page of one.
// URL and Location are raw (they can hold codes): redact them before printing.
type Hop struct {
	Method string
	// URL is the requested URL, absolute.
	URL    string
	Status int
	// Location is the Location header exactly as sent (often relative); empty for a non-redirect.
	Location string
	// SetCookies are the cookies this response set, with their attributes, for cookie-flag checks.
	SetCookies []*http.Cookie
}

// ParsedURL is URL parsed; an unparsable URL (never produced by Browser) gives an empty URL.
func (h Hop) ParsedURL() *url.URL {
	u, err := url.Parse(h.URL)
	if err != nil {
		return &url.URL{}
	}
	return u
}

// Page is a fetched response after every redirect was followed.
type Page struct {
	// Method is the method of the request that produced this page (after any 303 rewrite to GET).
	Method string
	URL    *url.URL
	Status int
	Header http.Header
	// Body is the whole body, at most Options.MaxBody bytes.
	Body []byte
	// Hops is the redirect chain that led here, oldest first, without the page itself.
	Hops []Hop
}

// AsHop is the page itself as a Hop, so a caller can build one chain out of several requests.
func (p *Page) AsHop() Hop {
	return Hop{Method: p.Method, URL: p.URL.String(), Status: p.Status, SetCookies: readSetCookies(p.Header)}
}

// Chain is the redirect chain followed by the page itself.
func (p *Page) Chain() []Hop {
	return append(append([]Hop(nil), p.Hops...), p.AsHop())
}

// IsHTML reports whether the page is HTML, by Content-Type or, when that is absent, by sniffing.
func (p *Page) IsHTML() bool {
	ct := p.Header.Get("Content-Type")
	if ct == "" {
		ct = http.DetectContentType(p.Body)
	}
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mediaType == "text/html" || mediaType == "application/xhtml+xml"
}

// parse returns the parsed document, or ErrNotHTML.
func (p *Page) parse() (*html.Node, error) {
	if !p.IsHTML() {
		return nil, ErrNotHTML
	}
	return html.Parse(bytes.NewReader(p.Body))
}

// Text is the page's visible text with whitespace collapsed, for messages. A non-HTML page gives its body.
// The text is not redacted: pass it through a redact.Redactor before printing.
func (p *Page) Text() string {
	doc, err := p.parse()
	if err != nil {
		return strings.Join(strings.Fields(string(p.Body)), " ")
	}
	return textOf(doc)
}

// resolve resolves a reference found in the page against the page's URL, or its <base href> when present.
func (p *Page) resolve(doc *html.Node, ref string) (*url.URL, error) {
	base := p.URL
	if b := findFirst(doc, func(n *html.Node) bool { return n.Data == "base" && attr(n, "href") != "" }); b != nil {
		if u, err := p.URL.Parse(attr(b, "href")); err == nil {
			base = u
		}
	}
	return base.Parse(strings.TrimSpace(ref))
}

// readSetCookies parses the Set-Cookie headers of a response.
func readSetCookies(h http.Header) []*http.Cookie {
	return (&http.Response{Header: h}).Cookies()
}
