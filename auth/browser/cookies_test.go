package browser

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func cookieNames(cs []*http.Cookie) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name + "=" + c.Value
	}
	return strings.Join(names, " ")
}

func TestHostCookiesCollectsEveryPathAndName(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth2/callback":
			http.SetCookie(w, &http.Cookie{Name: "oauth2_proxy_kubeflow_0", Value: "part0", Path: "/"})
			http.SetCookie(w, &http.Cookie{Name: "oauth2_proxy_kubeflow_1", Value: "part1", Path: "/"})
			http.SetCookie(w, &http.Cookie{Name: "oauth2_proxy_kubeflow_csrf", Value: "", Path: "/", MaxAge: -1})
			http.SetCookie(w, &http.Cookie{Name: "ui", Value: "scoped", Path: "/pipeline"})
			http.SetCookie(w, &http.Cookie{Name: "defaultpath", Value: "d"}) // default path /oauth2
		case "/oauth2/start":
			http.SetCookie(w, &http.Cookie{Name: "oauth2_proxy_kubeflow_csrf", Value: "csrf", Path: "/"})
		}
	}))
	defer srv.Close()
	b := newBrowser(t, Options{})
	ctx := context.Background()
	for _, p := range []string{"/oauth2/start", "/oauth2/callback"} {
		if _, err := b.Get(ctx, srv.URL+p); err != nil {
			t.Fatal(err)
		}
	}
	gw, _ := url.Parse(srv.URL + "/pipeline/")
	want := "defaultpath=d oauth2_proxy_kubeflow_0=part0 oauth2_proxy_kubeflow_1=part1 ui=scoped"
	if got := cookieNames(b.HostCookies(gw)); got != want {
		t.Errorf("HostCookies = %q, want %q (cleared csrf gone, every path included)", got, want)
	}
	if got := cookieNames(b.Cookies(gw)); got != "oauth2_proxy_kubeflow_0=part0 oauth2_proxy_kubeflow_1=part1 ui=scoped" &&
		got != "ui=scoped oauth2_proxy_kubeflow_0=part0 oauth2_proxy_kubeflow_1=part1" {
		t.Errorf("Cookies(/pipeline/) = %q, want the path-matching ones only", got)
	}
	other, _ := url.Parse(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	if got := b.HostCookies(other); len(got) != 0 {
		t.Errorf("HostCookies for another host = %q, want none", cookieNames(got))
	}
}

func TestHostCookiesHonourSecure(t *testing.T) {
	b := newBrowser(t, Options{})
	setOn, _ := url.Parse("https://gw.example/oauth2/callback")
	b.SetCookies(setOn, []*http.Cookie{
		{Name: "__Secure-_deploykf_token", Value: "v", Path: "/", Secure: true},
		{Name: "plain", Value: "p", Path: "/"},
	})
	https, _ := url.Parse("https://gw.example/")
	http_, _ := url.Parse("http://gw.example/")
	if got := cookieNames(b.HostCookies(https)); got != "__Secure-_deploykf_token=v plain=p" {
		t.Errorf("https: %q", got)
	}
	if got := cookieNames(b.HostCookies(http_)); got != "plain=p" {
		t.Errorf("http: %q, want the Secure cookie withheld", got)
	}
}
