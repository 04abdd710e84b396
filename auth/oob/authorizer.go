package oob

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/auth/dexlogin"
)

// Authorizer is the interactive step: it takes the authorization URL to the user and returns the code Dex showed.
type Authorizer interface {
	Authorize(ctx context.Context, authURL string) (code string, err error)
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(ctx context.Context, authURL string) (string, error)

// Authorize calls f.
func (f AuthorizerFunc) Authorize(ctx context.Context, authURL string) (string, error) {
	return f(ctx, authURL)
}

// maxCodeLine bounds what Prompt reads: a Dex code is 25 characters.
const maxCodeLine = 4096

// Prompt is the person's Authorizer: it prints the URL to Out and reads the pasted code from In.
type Prompt struct {
	In  io.Reader
	Out io.Writer
}

// Authorize prints the URL, then waits for one line (or ctx).
func (p Prompt) Authorize(ctx context.Context, authURL string) (string, error) {
	fmt.Fprintf(p.Out, "Open this URL in a browser, log in, then paste the code Dex shows:\n\n    %s\n\nCode: ", authURL)
	type line struct {
		s   string
		err error
	}
	got := make(chan line, 1)
	go func() { // a terminal read cannot be cancelled; the caller's process ends it
		s, err := readLine(bufio.NewReaderSize(p.In, 64), maxCodeLine)
		got <- line{s, err}
	}()
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case l := <-got:
		if l.err != nil {
			return "", fmt.Errorf("read the code: %w", l.err)
		}
		if l.s == "" {
			return "", errors.New("no code entered")
		}
		return l.s, nil
	}
}

func readLine(r *bufio.Reader, max int) (string, error) {
	var sb strings.Builder
	for {
		b, err := r.ReadByte()
		if err == io.EOF && sb.Len() > 0 {
			break
		}
		if err != nil {
			return "", err
		}
		if b == '\n' {
			break
		}
		if sb.Len() >= max {
			return "", fmt.Errorf("the line is longer than %d bytes", max)
		}
		sb.WriteByte(b)
	}
	return strings.TrimSpace(sb.String()), nil
}

// Browser is the scripted Authorizer for tests and CI: the scripted browser opens the URL, goes through Dex's
// connector choice, password form and approval page, and copies the code off Dex's OOB page.
type Browser struct {
	Browser            *browser.Browser
	Username, Password string
	Connector          string // default local
	// Session receives the login's record (approval shown, chain) when non-nil.
	Session *dexlogin.Session
}

// Authorize drives Dex to its code page and reads the code.
func (b *Browser) Authorize(ctx context.Context, authURL string) (string, error) {
	opts := dexlogin.Options{Username: b.Username, Password: b.Password, Connector: b.Connector, Approve: true}
	page, sess, err := dexlogin.Authorize(ctx, b.Browser, authURL, opts, IsCodePage)
	if sess != nil && b.Session != nil {
		*b.Session = *sess
	}
	if err != nil {
		return "", err
	}
	code, _ := CodeFromPage(page)
	b.Browser.Redactor().Add(code)
	return code, nil
}

// IsCodePage recognises Dex's OOB page (templates/oob.html) as a person would: a 200 HTML page with a filled
// text input to copy and no login form.
func IsCodePage(p *browser.Page) bool {
	if p.Status != http.StatusOK {
		return false
	}
	if _, hasForm := p.FindForm(func(f browser.Form) bool { return f.Has("password") }); hasForm {
		return false
	}
	_, ok := CodeFromPage(p)
	return ok
}

// CodeFromPage reads the code from the page's text input.
func CodeFromPage(p *browser.Page) (string, bool) {
	v, ok := p.InputValue(func(e browser.Element) bool {
		t := strings.ToLower(e.Attr("type"))
		return (t == "" || t == "text") && e.Attr("name") == "" && strings.TrimSpace(e.Attr("value")) != ""
	})
	return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
}
