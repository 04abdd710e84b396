package browser

import (
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Form is an HTML form as a browser would submit it.
type Form struct {
	ID string
	// Action is the submission URL, resolved against the page (an empty action means the page itself).
	Action *url.URL
	// Method is "GET" or "POST"; anything else in the HTML counts as GET, as in browsers.
	Method string
	Fields []Field
}

// Field is one control of a form: input, button, select or textarea.
type Field struct {
	Name string
	// Type is the lower-cased input type ("text" when absent), or "select", "textarea", or the button type.
	Type  string
	Value string
	// Checked is set for checked checkboxes and radios; only those are submitted.
	Checked bool
	// Disabled controls are never submitted.
	Disabled bool
}

// Field returns the first field with the given name.
func (f Form) Field(name string) (Field, bool) {
	for _, fl := range f.Fields {
		if fl.Name == name {
			return fl, true
		}
	}
	return Field{}, false
}

// Has reports whether the form has a field with each of the names.
func (f Form) Has(names ...string) bool {
	for _, n := range names {
		if _, ok := f.Field(n); !ok {
			return false
		}
	}
	return true
}

// Values is what submitting the form untouched sends: named, enabled controls, checkboxes and radios only when
// checked, and no buttons (no button is "clicked"; pass one in Submit's values when a server needs it).
func (f Form) Values() url.Values {
	v := url.Values{}
	for _, fl := range f.Fields {
		if fl.Name == "" || fl.Disabled {
			continue
		}
		switch fl.Type {
		case "submit", "button", "image", "reset", "file":
			continue
		case "checkbox", "radio":
			if !fl.Checked {
				continue
			}
			value := fl.Value
			if value == "" {
				value = "on"
			}
			v.Add(fl.Name, value)
			continue
		}
		v.Add(fl.Name, fl.Value)
	}
	return v
}

// Forms returns the page's forms in document order, with actions resolved. A non-HTML page gives ErrNotHTML.
func (p *Page) Forms() ([]Form, error) {
	doc, err := p.parse()
	if err != nil {
		return nil, err
	}
	var forms []Form
	for _, n := range findAll(doc, func(n *html.Node) bool { return n.Data == "form" }) {
		action, err := p.resolve(doc, attr(n, "action"))
		if err != nil {
			continue // an unparsable action cannot be submitted
		}
		method := "GET"
		if strings.EqualFold(strings.TrimSpace(attr(n, "method")), "post") {
			method = "POST"
		}
		forms = append(forms, Form{ID: attr(n, "id"), Action: action, Method: method, Fields: formFields(n)})
	}
	return forms, nil
}

// FindForm returns the first form for which pred is true.
func (p *Page) FindForm(pred func(Form) bool) (*Form, bool) {
	forms, err := p.Forms()
	if err != nil {
		return nil, false
	}
	for i := range forms {
		if pred(forms[i]) {
			return &forms[i], true
		}
	}
	return nil, false
}

// formFields reads the controls inside a form element.
func formFields(form *html.Node) []Field {
	var fields []Field
	controls := findAll(form, func(n *html.Node) bool {
		switch n.Data {
		case "input", "button", "select", "textarea":
			return true
		}
		return false
	})
	for _, n := range controls {
		f := Field{Name: attr(n, "name"), Disabled: hasAttr(n, "disabled")}
		switch n.Data {
		case "input":
			f.Type = strings.ToLower(strings.TrimSpace(attr(n, "type")))
			if f.Type == "" {
				f.Type = "text"
			}
			f.Value = attr(n, "value")
			f.Checked = hasAttr(n, "checked")
		case "button":
			f.Type = strings.ToLower(strings.TrimSpace(attr(n, "type")))
			if f.Type == "" {
				f.Type = "submit"
			}
			f.Value = attr(n, "value")
		case "select":
			f.Type = "select"
			f.Value = selectedOption(n)
		case "textarea":
			f.Type = "textarea"
			f.Value = rawText(n)
		}
		fields = append(fields, f)
	}
	return fields
}

// selectedOption is the value of the selected option of a select, else of its first option.
func selectedOption(sel *html.Node) string {
	options := findAll(sel, func(n *html.Node) bool { return n.Data == "option" })
	if len(options) == 0 {
		return ""
	}
	chosen := options[0]
	for _, o := range options {
		if hasAttr(o, "selected") {
			chosen = o
			break
		}
	}
	if hasAttr(chosen, "value") {
		return attr(chosen, "value")
	}
	return textOf(chosen)
}

// rawText is the text content of n exactly as written (a textarea's value).
func rawText(n *html.Node) string {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}
