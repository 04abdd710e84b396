// Package browser is the scripted browser stand-in: an HTTP client with a cookie jar that follows redirects
// the way a browser does, records every hop as redacted evidence, and reads and submits the HTML forms it is
// served. It is the model of zitadel/oidc's browserless login, kept general so every login flow (Dex password,
// LDAP, OOB) can drive it.
package browser

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// Defaults for Options fields left zero.
const (
	DefaultTimeout      = 15 * time.Second
	DefaultMaxRedirects = 10
	DefaultMaxBody      = 1 << 20
)

// browserAccept is what a browser sends for a navigation. It matters: oauth2-proxy answers 401 JSON instead of
// its sign-in page when Accept is exactly application/json.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// userAgent identifies the harness in server logs.
const userAgent = "kfp-authcheck-browser/1"

// Options configures a Browser. The zero value is usable.
type Options struct {
	// Timeout bounds each request, body included (default 15 s).
	Timeout time.Duration
	// MaxRedirects bounds one redirect chain (default 10).
	MaxRedirects int
	// MaxBody bounds each response body (default 1 MiB); a longer body fails with ErrBodyTooLarge.
	MaxBody int64
	// TLSConfig is used for https; nil means the system roots.
	TLSConfig *tls.Config
	// Redactor redacts the evidence in History. The browser adds to it the secrets it meets: values typed into
	// password fields and cookie values. Nil means a private Redactor.
	Redactor *redact.Redactor
	// Follow, when set, decides whether a redirect to a URL is followed; a redirect it refuses ends the chain
	// with the redirect response as the page (its Location unvisited). Nil follows every redirect. A check that
	// provokes a redirect to another host uses it so the harness never contacts that host.
	Follow func(to *url.URL) bool
	// WrapTransport, when set, wraps the browser's transport (the harness counts round trips per check with it).
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// Browser is a cookie-jar HTTP client that behaves like a browser. It is safe for concurrent use, although a
// login flow is naturally sequential.
type Browser struct {
	opts   Options
	client *http.Client
	jar    *recordingJar

	mu      sync.Mutex
	history []result.Exchange
}

// New returns a Browser with an empty cookie jar.
func New(opts Options) (*Browser, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxRedirects <= 0 {
		opts.MaxRedirects = DefaultMaxRedirects
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Redactor == nil {
		opts.Redactor = redact.New()
	}
	jar, err := newRecordingJar()
	if err != nil {
		return nil, fmt.Errorf("creating cookie jar: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if opts.TLSConfig != nil {
		// A clone: the HTTP/2 setup writes NextProtos into the config it is given, and a config shared with an
		// HTTP/1-only client would then negotiate h2 that client cannot speak.
		transport.TLSClientConfig = opts.TLSConfig.Clone()
	}
	var rt http.RoundTripper = transport
	if opts.WrapTransport != nil {
		rt = opts.WrapTransport(rt)
	}
	client := &http.Client{
		Transport: rt,
		Jar:       jar,
		// Redirects are followed by Do, which records each hop and applies the loop and length rules.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Browser{opts: opts, client: client, jar: jar}, nil
}

// Redactor is the redactor the browser uses for its evidence.
func (b *Browser) Redactor() *redact.Redactor { return b.opts.Redactor }

// Get navigates to rawURL as a browser would (Accept: text/html...).
func (b *Browser) Get(ctx context.Context, rawURL string) (*Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", b.opts.Redactor.URL(rawURL), redactURLError(err, b.opts.Redactor))
	}
	req.Header.Set("Accept", browserAccept)
	return b.Do(ctx, req)
}

// Submit submits form f of page p. The form's own values (hidden fields included) are sent, with values
// replacing fields of the same name and adding new ones. A GET form replaces the action's query; a POST form
// sends application/x-www-form-urlencoded. Values typed into password fields are added to the Redactor.
func (b *Browser) Submit(ctx context.Context, p *Page, f *Form, values url.Values) (*Page, error) {
	if f == nil || f.Action == nil {
		return nil, errors.New("submit: no form")
	}
	data := f.Values()
	for name, vs := range values {
		data[name] = vs
		if field, ok := f.Field(name); ok && field.Type == "password" {
			b.opts.Redactor.Add(vs...)
		}
	}
	target := *f.Action
	target.Fragment = ""
	var req *http.Request
	var err error
	if f.Method == http.MethodPost {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(data.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		target.RawQuery = data.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	}
	if err != nil {
		return nil, fmt.Errorf("submit form to %s: %w", b.opts.Redactor.URL(target.String()), err)
	}
	req.Header.Set("Accept", browserAccept)
	return b.Do(ctx, req)
}

// Cookies returns the cookies the jar would send to u (names and values only, as net/http/cookiejar keeps them).
func (b *Browser) Cookies(u *url.URL) []*http.Cookie { return b.jar.Cookies(u) }

// SetCookies stores cookies in the jar as if u had set them.
func (b *Browser) SetCookies(u *url.URL, cookies []*http.Cookie) { b.jar.SetCookies(u, cookies) }

// HostCookies returns every cookie the jar holds for u's host, on any path, that it would send over u's scheme,
// one per name and sorted by name. Use it to collect a gateway's session cookies whatever they are called
// (__Secure- prefixes, oauth2-proxy's _0/_1 split cookies). Cookies are shared across ports of one host, as in
// browsers.
func (b *Browser) HostCookies(u *url.URL) []*http.Cookie { return b.jar.hostCookies(u) }

// History returns a copy of every hop so far, redacted.
func (b *Browser) History() []result.Exchange {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]result.Exchange(nil), b.history...)
}

// Do sends req and follows redirects like a browser, recording each hop in History.
// 301, 302 and 303 become GET without a body when the method was not GET or HEAD (303 always, 301 and 302 for
// POST, as browsers do); 307 and 308 repeat the method and body. A chain that requests the same method and
// URL twice fails with ErrRedirectLoop; more than MaxRedirects redirects fail with ErrTooManyRedirects.
func (b *Browser) Do(ctx context.Context, req *http.Request) (*Page, error) {
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}
	body, err := b.bufferBody(req)
	if err != nil {
		return nil, err
	}
	var hops []Hop
	visited := map[string]bool{}
	for {
		key := req.Method + " " + req.URL.String()
		if visited[key] {
			return nil, fmt.Errorf("%s %s: %w", req.Method, b.opts.Redactor.URL(req.URL.String()), ErrRedirectLoop)
		}
		visited[key] = true

		page, err := b.roundTrip(ctx, req)
		if err != nil {
			return nil, err
		}
		location := page.Header.Get("Location")
		if !isRedirect(page.Status) || location == "" || !b.follows(req.URL, location) {
			page.Hops = hops
			return page, nil
		}
		hop := page.AsHop()
		hop.Location = location
		hops = append(hops, hop)
		if len(hops) > b.opts.MaxRedirects {
			return nil, fmt.Errorf("%s %s: %d redirects: %w", req.Method, b.opts.Redactor.URL(req.URL.String()), len(hops), ErrTooManyRedirects)
		}
		next, err := b.redirectRequest(ctx, req, page.Status, location, body)
		if err != nil {
			return nil, err
		}
		req = next
	}
}

// bufferBody reads a request body into memory so 307 and 308 can send it again.
func (b *Browser) bufferBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	data, err := io.ReadAll(io.LimitReader(req.Body, b.opts.MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	if int64(len(data)) > b.opts.MaxBody {
		return nil, fmt.Errorf("request body: %w", ErrBodyTooLarge)
	}
	req.Body = io.NopCloser(strings.NewReader(string(data)))
	req.ContentLength = int64(len(data))
	return data, nil
}

// roundTrip sends one request under the per-request timeout, reads the bounded body and records the hop.
func (b *Browser) roundTrip(ctx context.Context, req *http.Request) (*Page, error) {
	reqCtx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()
	sent := b.jar.Cookies(req.URL) // what http.Client will add; read before the response changes the jar
	// Clone, not WithContext: http.Client adds the jar's cookies to the request's header map, which must not
	// leak into the next hop's copy of the caller's headers.
	resp, err := b.client.Do(req.Clone(reqCtx))
	if err != nil {
		err = redactURLError(err, b.opts.Redactor)
		b.record(req, sent, nil, "error: "+string(Classify(err)))
		return nil, fmt.Errorf("%s %s: %w", req.Method, b.opts.Redactor.URL(req.URL.String()), err)
	}
	defer resp.Body.Close()
	b.learnCookieValues(resp)
	limit := b.opts.MaxBody
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	switch {
	case err != nil:
		b.record(req, sent, resp, "error reading body: "+string(Classify(err)))
		return nil, fmt.Errorf("%s %s: reading body: %w", req.Method, b.opts.Redactor.URL(req.URL.String()), err)
	case int64(len(data)) > limit && !isRedirect(resp.StatusCode):
		b.record(req, sent, resp, fmt.Sprintf("body over %d bytes", limit))
		return nil, fmt.Errorf("%s %s: body over %d bytes: %w", req.Method, b.opts.Redactor.URL(req.URL.String()), limit, ErrBodyTooLarge)
	case int64(len(data)) > limit:
		data = data[:limit] // a redirect's body is never used; do not fail the chain for it
	}
	b.record(req, sent, resp, "")
	return &Page{Method: req.Method, URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// learnCookieValues teaches the Redactor the values of cookies this response sets. Values under 8 characters
// are flags ("true", "1"), not secrets, and would only shred ordinary text.
func (b *Browser) learnCookieValues(resp *http.Response) {
	for _, c := range resp.Cookies() {
		if len(c.Value) >= 8 {
			b.opts.Redactor.Add(c.Value)
		}
	}
}

// redactURLError rewrites the URL inside a *url.Error, which net/http puts in every transport error and which
// can carry a code or token in its query.
func redactURLError(err error, r *redact.Redactor) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: r.URL(ue.URL), Err: ue.Err}
	}
	return err
}

// follows applies Options.Follow to a Location resolved against the request URL (an unparsable one is left to
// redirectRequest's error).
func (b *Browser) follows(from *url.URL, location string) bool {
	if b.opts.Follow == nil {
		return true
	}
	to, err := from.Parse(location)
	return err != nil || b.opts.Follow(to)
}
