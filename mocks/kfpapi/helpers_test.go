package kfpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
	nsA   = "kubeflow-user-alice"
)

var fixedNow = func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC) }

// recordingAuthorizer wraps an Authorizer and remembers the attributes it was asked about.
type recordingAuthorizer struct {
	inner Authorizer
	mu    sync.Mutex
	asked []ResourceAttributes
	users []string
}

func (a *recordingAuthorizer) Authorize(ctx context.Context, user string, attrs ResourceAttributes) (bool, string, error) {
	a.mu.Lock()
	a.asked = append(a.asked, attrs)
	a.users = append(a.users, user)
	a.mu.Unlock()
	return a.inner.Authorize(ctx, user, attrs)
}

func (a *recordingAuthorizer) last() (string, ResourceAttributes) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.asked) == 0 {
		return "", ResourceAttributes{}
	}
	return a.users[len(a.users)-1], a.asked[len(a.asked)-1]
}

// authorizerFunc adapts a function to Authorizer.
type authorizerFunc func(ctx context.Context, user string, attrs ResourceAttributes) (bool, string, error)

func (f authorizerFunc) Authorize(ctx context.Context, user string, attrs ResourceAttributes) (bool, string, error) {
	return f(ctx, user, attrs)
}

// tokenMap is a TokenReviewer that knows a fixed set of tokens for the default audience.
type tokenMap map[string]string

func (m tokenMap) Review(_ context.Context, token string, audiences []string) (TokenReview, error) {
	if len(audiences) != 1 || audiences[0] != "pipelines.kubeflow.org" {
		return TokenReview{}, nil
	}
	u, ok := m[token]
	if !ok {
		return TokenReview{}, nil
	}
	return TokenReview{Authenticated: true, User: u, Audiences: audiences}, nil
}

func newTestServer(t *testing.T, cfg Config) (*Server, *recordingAuthorizer) {
	t.Helper()
	rec := &recordingAuthorizer{inner: ProfileAuthorizer{Members: map[string][]string{nsA: {alice}}}}
	if cfg.Authorizer == nil {
		cfg.Authorizer = rec
	}
	if cfg.Now == nil {
		cfg.Now = fixedNow
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, rec
}

// answer is one recorded response.
type answer struct {
	status int
	header http.Header
	body   string
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %q", err, a.body)
	}
	return m
}

// call sends one request through h; headers alternate name, value and may repeat a name.
func call(t *testing.T, h http.Handler, method, target, body string, headers ...string) answer {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}
