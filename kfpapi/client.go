package kfpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Defaults for a zero Client.
const (
	DefaultTimeout = 30 * time.Second
	DefaultMaxBody = 1 << 20
)

// Client calls one KFP API endpoint. The zero value is not usable: set BaseURL.
type Client struct {
	BaseURL string       // e.g. "http://127.0.0.1:1234/pipeline" (gateway) or the in-cluster API URL
	HTTP    *http.Client // caller's client (cookie jar, TLS); default has a 30 s timeout
	Header  http.Header  // added to every request (Cookie, Authorization, ...)
	MaxBody int64        // default 1 MiB
}

var defaultHTTP = &http.Client{Timeout: DefaultTimeout}

// httpClient is the caller's client with redirects turned off, so a 302 to a login page is seen, not followed.
func (c *Client) httpClient() *http.Client {
	base := c.HTTP
	if base == nil {
		base = defaultHTTP
	}
	hc := *base
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

func (c *Client) maxBody() int64 {
	if c.MaxBody > 0 {
		return c.MaxBody
	}
	return DefaultMaxBody
}

// isJSON reports whether a Content-Type names JSON (application/json or a +json type).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// Do sends one request to BaseURL+path (path may carry a query) and decodes a JSON 2xx answer into out
// (nil to discard it). body, when not nil, is sent as JSON. Every other answer is an *APIError; a transport
// failure (including the client's timeout) is returned wrapped with status 0.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) (status int, err error) {
	if body == nil {
		return c.DoRaw(ctx, method, path, "", nil, out)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, fmt.Errorf("kfp api %s %s: encode request: %w", method, path, err)
	}
	return c.DoRaw(ctx, method, path, "application/json", raw, out)
}

// DoRaw is Do with a body already encoded as contentType (a multipart upload); nil body sends none.
func (c *Client) DoRaw(ctx context.Context, method, path, contentType string, body []byte, out any) (status int, err error) {
	var reqBody io.Reader
	if body != nil {
		reqBody = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, reqBody)
	if err != nil {
		return 0, fmt.Errorf("kfp api %s %s: build request: %w", method, path, err)
	}
	// The kfp SDK's generated client sends these.
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range c.Header {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		// url.Error names the URL, which carries no credentials: they travel in headers.
		return 0, fmt.Errorf("kfp api %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	limit := c.maxBody()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("kfp api %s %s: read body: %w", method, path, err)
	}
	tooLarge := int64(len(raw)) > limit
	if tooLarge {
		raw = raw[:limit]
	}
	respType := resp.Header.Get("Content-Type")
	ok2xx := resp.StatusCode >= 200 && resp.StatusCode < 300
	if !ok2xx || !isJSON(respType) {
		return resp.StatusCode, newAPIError(method, path, resp, raw, ok2xx)
	}
	if tooLarge {
		return resp.StatusCode, fmt.Errorf("kfp api %s %s: %w (%d bytes)", method, path, ErrBodyTooLarge, limit)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("kfp api %s %s: decode %d answer: %w", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, nil
}

// newAPIError describes an unusable answer: an error status, or (notJSON) a 2xx that is not JSON. A body cut
// at MaxBody does not parse, so it yields no Code.
func newAPIError(method, path string, resp *http.Response, raw []byte, notJSON bool) *APIError {
	e := &APIError{
		StatusCode: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
		Location: resp.Header.Get("Location"), Method: method, Path: path,
		notJSON: notJSON,
	}
	excerpt := raw
	if len(excerpt) > bodyExcerptLimit {
		excerpt = excerpt[:bodyExcerptLimit]
	}
	e.Body = string(excerpt)
	if isJSON(e.ContentType) {
		var gb grpcErrorBody
		if json.Unmarshal(raw, &gb) == nil && gb.Code != nil {
			e.Code = *gb.Code
			switch {
			case gb.Message != nil:
				e.Message = *gb.Message
			case gb.Error != nil:
				e.Message = *gb.Error
			}
		}
	}
	return e
}
