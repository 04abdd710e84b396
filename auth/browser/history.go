package browser

import (
	"net/http"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// evidenceResponseHeaders are the response headers kept in History.
var evidenceResponseHeaders = []string{"Content-Type", "Set-Cookie", "WWW-Authenticate", "Server"}

// evidenceRequestHeaders are the request headers kept in History, under the key "Request-<name>" so they are
// not mistaken for response headers. The redactor keeps only the credential scheme and the cookie names.
var evidenceRequestHeaders = []string{"Authorization", "Cookie", "Accept"}

// record appends one redacted exchange to the history. sent are the jar's cookies that went with the request;
// resp is nil when no response came.
func (b *Browser) record(req *http.Request, sent []*http.Cookie, resp *http.Response, note string) {
	r := b.opts.Redactor
	ex := result.Exchange{Method: req.Method, URL: r.URL(req.URL.String()), Note: note}
	headers := map[string]string{}
	for _, name := range evidenceRequestHeaders {
		if values := requestHeaderValues(req, sent, name); len(values) > 0 {
			headers["Request-"+name] = redactAll(r.Header, name, values)
		}
	}
	if resp != nil {
		ex.Status = resp.StatusCode
		if loc := resp.Header.Get("Location"); loc != "" {
			ex.Location = r.URL(loc)
		}
		for _, name := range evidenceResponseHeaders {
			if values := resp.Header.Values(name); len(values) > 0 {
				headers[name] = redactAll(r.Header, name, values)
			}
		}
	}
	if len(headers) > 0 {
		ex.Headers = headers
	}
	b.mu.Lock()
	b.history = append(b.history, ex)
	b.mu.Unlock()
}

// requestHeaderValues reads a header as it went on the wire. http.Client adds the jar's cookies to a copy of
// the request, so the Cookie header is rebuilt from them.
func requestHeaderValues(req *http.Request, sent []*http.Cookie, name string) []string {
	values := req.Header.Values(name)
	if name == "Cookie" && len(sent) > 0 {
		pairs := make([]string, len(sent))
		for i, c := range sent {
			pairs[i] = c.Name + "=" + c.Value
		}
		values = append(values, strings.Join(pairs, "; "))
	}
	return values
}

// redactAll redacts each value of a header and joins them with newlines (Set-Cookie values contain commas).
func redactAll(redactHeader func(name, value string) string, name string, values []string) string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = redactHeader(name, v)
	}
	return strings.Join(out, "\n")
}
