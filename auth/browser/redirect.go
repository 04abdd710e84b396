package browser

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// isRedirect reports the statuses a browser follows.
func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// redirectRequest builds the request a browser makes after a redirect response (Fetch standard, "HTTP-redirect
// fetch"): 303, and 301/302 after a method other than GET or HEAD, become GET without a body; 307 and 308 keep
// the method and body. The Location is resolved against the request URL. Headers the caller set are kept on the
// same host; Authorization and Cookie are dropped when the host changes, since the jar owns cookies.
func (b *Browser) redirectRequest(ctx context.Context, prev *http.Request, status int, location string, body []byte) (*http.Request, error) {
	target, err := prev.URL.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("%s %s: bad Location %q: %w", prev.Method, b.opts.Redactor.URL(prev.URL.String()),
			b.opts.Redactor.URL(location), err)
	}
	// A fragment is never sent; when the Location has none, browsers keep the previous one (irrelevant here).
	target.Fragment, target.RawFragment = "", ""

	method := prev.Method
	keepBody := true
	if status == http.StatusSeeOther && method != http.MethodHead ||
		(status == http.StatusMovedPermanently || status == http.StatusFound) && method == http.MethodPost {
		method = http.MethodGet
		keepBody = false
	}
	if method == http.MethodGet || method == http.MethodHead {
		keepBody = false
	}
	var reader io.Reader
	if keepBody && body != nil {
		reader = bytes.NewReader(body)
	}
	next, err := http.NewRequestWithContext(ctx, method, target.String(), reader)
	if err != nil {
		return nil, fmt.Errorf("redirect to %s: %w", b.opts.Redactor.URL(target.String()), err)
	}
	sameHost := target.Host == prev.URL.Host
	for name, values := range prev.Header {
		switch http.CanonicalHeaderKey(name) {
		case "Content-Type", "Content-Length", "Content-Encoding", "Content-Language", "Content-Location":
			if !keepBody {
				continue
			}
		case "Authorization", "Cookie", "Proxy-Authorization":
			if !sameHost {
				continue
			}
		}
		next.Header[name] = append([]string(nil), values...)
	}
	return next, nil
}
