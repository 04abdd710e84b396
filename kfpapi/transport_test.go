package kfpapi_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/kfpapi"
)

func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

func TestRedirectIsNotFollowed(t *testing.T) {
	followed := false
	loc := "/dex/auth?client_id=kubeflow-oidc-authservice&code_challenge=abc&state=secretstate%3A%2F"
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/dex/") {
			followed = true
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{}`))
			return
		}
		http.Redirect(w, r, loc, http.StatusFound)
	})
	// The caller's own client follows redirects; the library must not.
	c := &kfpapi.Client{BaseURL: base + "/pipeline", HTTP: &http.Client{Timeout: 5 * time.Second}}
	_, err := c.ListExperiments(ctx(t), nsA)
	var apiErr *kfpapi.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *APIError", err)
	}
	if followed || apiErr.StatusCode != 302 || apiErr.Location != loc || !apiErr.IsRedirect() {
		t.Errorf("followed=%v status=%d location=%q", followed, apiErr.StatusCode, apiErr.Location)
	}
	if strings.Contains(err.Error(), "secretstate") || !strings.Contains(err.Error(), "/dex/auth") {
		t.Errorf("Error() = %q: want the target without the state value", err)
	}
}

func TestHTML200IsAnError(t *testing.T) {
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<html><form action="/oauth2/start">Sign in with Dex</form></html>`))
	})
	c := &kfpapi.Client{BaseURL: base}
	exps, err := c.ListExperiments(ctx(t), nsA)
	if exps != nil || !errors.Is(err, kfpapi.ErrNotJSON) {
		t.Fatalf("got %v, %v; want ErrNotJSON", exps, err)
	}
	var apiErr *kfpapi.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 200 || !strings.Contains(apiErr.Body, "Sign in with Dex") {
		t.Errorf("APIError = %+v", apiErr)
	}
}

func TestNonJSONErrorBodies(t *testing.T) {
	cases := []struct {
		name, contentType, body string
		status, wantCode        int
	}{
		{"oauth2-proxy api route", "application/json", "{}", 401, 0},
		{"envoy jwt", "text/plain", "Jwt issuer is not configured", 401, 0},
		{"deployKF lua", "text/plain", "ExtAuthz did not set 'x-auth-request-email' header", 403, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			_, err := (&kfpapi.Client{BaseURL: base}).ListRuns(ctx(t), nsA)
			var apiErr *kfpapi.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.status || apiErr.Code != tc.wantCode || apiErr.Body != tc.body || errors.Is(err, kfpapi.ErrNotJSON) {
				t.Errorf("err = %#v", err)
			}
		})
	}
}

func TestOversizedBody(t *testing.T) {
	big := `{"experiments":[` + strings.Repeat(`{"experiment_id":"x"},`, 100) + `{}]}`
	status := http.StatusOK
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(big))
	})
	c := &kfpapi.Client{BaseURL: base, MaxBody: 256}
	if _, err := c.ListExperiments(ctx(t), nsA); !errors.Is(err, kfpapi.ErrBodyTooLarge) {
		t.Fatalf("err = %v, want ErrBodyTooLarge", err)
	}
	c.MaxBody = 0 // the default limit is large enough
	if exps, err := c.ListExperiments(ctx(t), nsA); err != nil || len(exps) != 101 {
		t.Fatalf("default limit: %d, %v", len(exps), err)
	}
	status = http.StatusForbidden
	c.MaxBody = 4096
	_, err := c.ListExperiments(ctx(t), nsA)
	var apiErr *kfpapi.APIError
	if !errors.As(err, &apiErr) || len(apiErr.Body) > 2048 || apiErr.StatusCode != 403 {
		t.Errorf("error body excerpt not bounded: %d bytes, %v", len(apiErr.Body), err)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		select { // hold the answer until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	})
	c := &kfpapi.Client{BaseURL: base, HTTP: &http.Client{Timeout: 50 * time.Millisecond}}
	status, err := c.Do(ctx(t), "GET", "/apis/v2beta1/healthz", nil, nil)
	var netErr net.Error
	if status != 0 || !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("client timeout: status %d, err %v", status, err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c.HTTP = nil
	if _, err := c.Healthz(short, "v1beta1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("context deadline: %v", err)
	}
}

func TestHeadersAndBody(t *testing.T) {
	var got http.Header
	var gotBody string
	base := serve(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		b, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
		gotBody = string(b)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"1","name":"n","resource_references":[{"key":{"type":"NAMESPACE","id":"ns"},"relationship":"OWNER"}]}`))
	})
	c := &kfpapi.Client{BaseURL: base + "/", Header: http.Header{"Cookie": {"oauth2_proxy_kubeflow=v"}, "Authorization": {"Bearer t"}}}
	e, err := c.CreateExperimentV1(ctx(t), "ns", "n")
	if err != nil || e.ID != "1" || e.Namespace != "ns" || e.DisplayName != "n" {
		t.Fatalf("CreateExperimentV1 = %+v, %v", e, err)
	}
	if got.Get("Accept") != "application/json" || got.Get("Content-Type") != "application/json" ||
		got.Get("Cookie") != "oauth2_proxy_kubeflow=v" || got.Get("Authorization") != "Bearer t" {
		t.Errorf("headers = %v", got)
	}
	want := `{"name":"n","resource_references":[{"key":{"id":"ns","type":"NAMESPACE"},"relationship":"OWNER"}]}`
	if gotBody != want {
		t.Errorf("body = %s, want %s", gotBody, want)
	}
}
