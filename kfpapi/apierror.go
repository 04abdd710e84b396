package kfpapi

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrNotJSON is wrapped by the *APIError for a 2xx answer that is not JSON, such as a sign-in page.
var ErrNotJSON = errors.New("answer is not JSON")

// ErrBodyTooLarge is returned when a 2xx body exceeds Client.MaxBody.
var ErrBodyTooLarge = errors.New("response body exceeds the client's limit")

// APIError is any answer the client cannot use as API data: a non-2xx status, or a 2xx that is not JSON.
// Code and Message are set when the body is a grpc-gateway error (v1 or v2 shape); Body is a bounded excerpt.
type APIError struct {
	StatusCode, Code           int
	Message, ContentType, Body string
	Location                   string // the Location header of a redirect, as received
	Method, Path               string // the request, for messages
	notJSON                    bool
}

// bodyExcerptLimit bounds APIError.Body.
const bodyExcerptLimit = 2048

// Error says what came back without repeating secrets: query values that look like credentials are redacted
// from Location, and the body is left out (it is in Body).
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kfp api %s %s: HTTP %d", e.Method, e.Path, e.StatusCode)
	switch {
	case e.Code != 0 || e.Message != "":
		fmt.Fprintf(&b, " (grpc code %d): %s", e.Code, e.Message)
	case e.notJSON:
		fmt.Fprintf(&b, ": %v (Content-Type %q)", ErrNotJSON, e.ContentType)
	case e.ContentType != "":
		fmt.Fprintf(&b, " (Content-Type %q)", e.ContentType)
	}
	if e.Location != "" {
		fmt.Fprintf(&b, ", redirected to %s", redactURL(e.Location))
	}
	return b.String()
}

// Unwrap lets errors.Is(err, ErrNotJSON) find a non-JSON 2xx.
func (e *APIError) Unwrap() error {
	if e.notJSON {
		return ErrNotJSON
	}
	return nil
}

// IsRedirect reports whether the answer was a 3xx.
func (e *APIError) IsRedirect() bool { return e.StatusCode >= 300 && e.StatusCode < 400 }

// secretParams are query parameters whose values are credentials or one-time codes.
var secretParams = []string{"code", "state", "access_token", "id_token", "refresh_token", "token", "password", "client_secret", "code_verifier"}

// redactURL replaces credential-like query values with "REDACTED"; an unparsable URL is dropped entirely.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	q := u.Query()
	changed := false
	for _, p := range secretParams {
		if q.Has(p) {
			q.Set(p, "REDACTED")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// grpcErrorBody is the union of the grpc-gateway v1 ({"error","code","message","details"}) and v2
// ({"code","message","details"}) error bodies.
type grpcErrorBody struct {
	Error   *string `json:"error"`
	Code    *int    `json:"code"`
	Message *string `json:"message"`
}
