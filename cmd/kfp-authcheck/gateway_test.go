package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// TestGatewayUsageErrors: a profile without an oauth2-proxy gateway, a missing or malformed address, a mesh
// without the cluster's keys and a bad listen address are usage errors (exit 2) that name the flag, never a panic.
func TestGatewayUsageErrors(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // no in-cluster credentials here
	ok := []string{"--issuer", "http://127.0.0.1:1/dex", "--dex", "http://127.0.0.1:2/dex", "--oauth2-proxy", "http://127.0.0.1:3", "--apps", "http://127.0.0.1:4"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"component", "gateway", "--profile", "nope"}, "nope"},
		{append([]string{"component", "gateway", "--profile", "standalone"}, ok...), "no gateway"},
		{[]string{"component", "gateway", "--profile", "deploykf", "--dex", "http://127.0.0.1:2/dex", "--oauth2-proxy", "http://127.0.0.1:3", "--apps", "http://127.0.0.1:4"}, `issuer ""`},
		{append([]string{"component", "gateway", "--profile", "deploykf", "--apps", "dex.auth:5556"}, ok[:6]...), `apps "dex.auth:5556"`},
		{append([]string{"component", "gateway", "--profile", "kubeflow"}, ok...), "the mesh needs the cluster's keys"},
		{append([]string{"component", "gateway", "--profile", "deploykf", "--listen", "not-an-address"}, ok...), "--listen not-an-address"},
		{append([]string{"component", "gateway", "--profile", "deploykf", "--tls-cert-file", "/nonexistent"}, ok...), "--tls-cert-file"},
	} {
		var out, errOut bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		code := execute(ctx, c.args, &out, &errOut)
		cancel()
		if code != exitUsage || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errOut.String(), c.want)
		}
	}
}

// TestGatewayRoutes: the front sends /dex/ to Dex and the rest to oauth2-proxy, keeping the browser's Host; the
// apps side replaces a client's identity header with oauth2-proxy's X-Forwarded-Email (deployKF's header and prefix).
func TestGatewayRoutes(t *testing.T) {
	p, err := profile.Get("deploykf")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]*http.Request{}
	server := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen[name] = r.Clone(context.Background())
			_, _ = io.WriteString(w, name)
		}))
		t.Cleanup(s.Close)
		return s
	}
	dex, proxy, apps := server("dex"), server("oauth2-proxy"), server("apps")
	front, appsSide, err := gatewayCmd{Profile: "deploykf", Issuer: "https://127.0.0.1:9/dex", Dex: dex.URL + "/dex",
		OAuth2Proxy: proxy.URL, Apps: apps.URL}.handlers()
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/dex/.well-known/openid-configuration": "dex", "/pipeline/": "oauth2-proxy", "/oauth2/start": "oauth2-proxy"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "https://127.0.0.1:9"+path, nil)
		front.ServeHTTP(rec, req)
		if rec.Body.String() != want || seen[want].Host != "127.0.0.1:9" || seen[want].URL.Path != path {
			t.Errorf("%s: answered by %q (host %q), want %s", path, rec.Body.String(), seen[want].Host, want)
		}
	}
	header := p.KFP.UserIDHeader
	if header == "" {
		header = "kubeflow-userid"
	}
	req := httptest.NewRequest(http.MethodGet, "http://gateway/pipeline/apis/v2beta1/healthz", nil)
	req.Header.Set(header, "forged@example.com")
	req.Header.Set("X-Forwarded-Email", "user1@example.com")
	appsSide.ServeHTTP(httptest.NewRecorder(), req)
	if got := seen["apps"].Header.Get(header); got != p.KFP.UserIDPrefix+"user1@example.com" {
		t.Errorf("identity at the apps: %q", got)
	}
}

// TestLDAPDirectoryUsageError: an address it cannot listen on is a usage error naming it.
func TestLDAPDirectoryUsageError(t *testing.T) {
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if code := execute(ctx, []string{"component", "ldap-directory", "--listen", "not-an-address"}, &out, &errOut); code != exitUsage ||
		!strings.Contains(errOut.String(), "--listen not-an-address") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}
