package browser

import (
	"net/url"

	"golang.org/x/net/html"
)

// Link is an <a href> of a page.
type Link struct {
	// URL is the href resolved against the page.
	URL *url.URL
	// Text is the link's visible text, whitespace collapsed.
	Text string
}

// Links returns the page's links in document order; none for a non-HTML page.
func (p *Page) Links() []Link {
	doc, err := p.parse()
	if err != nil {
		return nil
	}
	var links []Link
	for _, n := range findAll(doc, func(n *html.Node) bool { return n.Data == "a" && hasAttr(n, "href") }) {
		u, err := p.resolve(doc, attr(n, "href"))
		if err != nil {
			continue
		}
		links = append(links, Link{URL: u, Text: textOf(n)})
	}
	return links
}

// Element is a read-only view of one HTML element, for selecting things the typed helpers do not cover.
type Element struct {
	// Tag is the lower-case element name.
	Tag string
	// Attrs holds the element's attributes; a boolean attribute maps to "".
	Attrs map[string]string
	// Text is the element's visible text, whitespace collapsed.
	Text string
}

// Attr returns an attribute's value, or "".
func (e Element) Attr(name string) string { return e.Attrs[name] }

// Elements returns the elements for which pred is true, in document order. A non-HTML page gives ErrNotHTML.
func (p *Page) Elements(pred func(Element) bool) ([]Element, error) {
	doc, err := p.parse()
	if err != nil {
		return nil, err
	}
	var out []Element
	findAll(doc, func(n *html.Node) bool {
		e := toElement(n)
		if pred(e) {
			out = append(out, e)
		}
		return false
	})
	return out, nil
}

// InputValue returns the value of the first <input> or <textarea> for which pred is true. Dex's OOB page, for
// example, shows the code only as <input type="text" class="theme-form-input" value="...">, with no name.
func (p *Page) InputValue(pred func(Element) bool) (string, bool) {
	elems, err := p.Elements(func(e Element) bool {
		return (e.Tag == "input" || e.Tag == "textarea") && pred(e)
	})
	if err != nil || len(elems) == 0 {
		return "", false
	}
	if elems[0].Tag == "textarea" {
		return elems[0].Text, true
	}
	return elems[0].Attr("value"), true
}

func toElement(n *html.Node) Element {
	attrs := make(map[string]string, len(n.Attr))
	for _, a := range n.Attr {
		attrs[a.Key] = a.Val
	}
	return Element{Tag: n.Data, Attrs: attrs, Text: textOf(n)}
}
