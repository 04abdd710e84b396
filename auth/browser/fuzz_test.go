package browser

import (
	"net/http"
	"net/url"
	"testing"
)

// FuzzDexForms: any HTML (Dex's login and approval pages, or a hostile imitation) gives forms or an error, never
// a panic; every form's action is absolute and its values encode.
func FuzzDexForms(f *testing.F) {
	for _, seed := range []string{
		`<form method="post" action="/dex/auth/local/login?back=&state=x"><input name="login"><input type="password" name="password"><button type="submit">Login</button></form>`,
		`<form method="post" action="/dex/approval?req=abc"><input type="hidden" name="req" value="abc"><input type="hidden" name="approval" value="approve"></form>`,
		`<a href="/dex/auth/local?client_id=x">Log in with Email</a><form action="javascript:alert(1)"><select name="s"><option selected>1</option></select></form>`,
		`<base href="http://evil.example/"><form action="x"><textarea name="t">a</textarea></form>`,
		`<form action="http://[::1"><input name="a" value="b"></form>`,
		`<form><form><input name=login><input name=password></form></form>`,
	} {
		f.Add([]byte(seed))
	}
	base, _ := url.Parse("http://127.0.0.1:8080/dex/auth/local/login?state=s")
	f.Fuzz(func(t *testing.T, body []byte) {
		p := &Page{Method: http.MethodGet, URL: base, Status: 200, Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, Body: body}
		forms, err := p.Forms()
		if err != nil {
			return
		}
		for _, fm := range forms {
			if fm.Action == nil || !fm.Action.IsAbs() {
				t.Fatalf("a form action that is not absolute: %v", fm.Action)
			}
			_ = fm.Values().Encode()
			_ = fm.Has("login", "password")
		}
		_, _ = p.FindForm(func(fm Form) bool { return fm.Has("login", "password") })
		_ = p.Text()
	})
}

// FuzzCookieJar: any Set-Cookie header from any URL is stored or dropped, never a panic, and a cookie set by one
// site is never sent to an unrelated one.
func FuzzCookieJar(f *testing.F) {
	for _, seed := range [][2]string{
		{"https://kf.example.com/oauth2/callback?code=x", "oauth2_proxy=abc; Path=/; HttpOnly; Secure; SameSite=Lax"},
		{"http://127.0.0.1:8080/dex/auth", "oauth2_proxy_csrf=x; Path=/; Max-Age=900"},
		{"http://kf.example.com/pipeline/", "a=b; Domain=example.org; Path=/"},
		{"http://kf.example.com/", "a=b; Domain=.example.com; Path=/pipeline"},
		{"http://kf.example.com/x/y", "a=\"quoted\"; Path=relative"},
		{"http://[::1]:1/", "=; Domain=::1"},
	} {
		f.Add(seed[0], seed[1])
	}
	other, _ := url.Parse("http://unrelated.example.org/")
	f.Fuzz(func(t *testing.T, rawURL, setCookie string) {
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return
		}
		j, err := newRecordingJar()
		if err != nil {
			t.Fatal(err)
		}
		cookies := (&http.Response{Header: http.Header{"Set-Cookie": {setCookie}}}).Cookies()
		j.SetCookies(u, cookies)
		_ = j.Cookies(u)
		_ = j.hostCookies(u)
		if u.Hostname() != other.Hostname() && !isSubdomainOf(u.Hostname(), "example.org") {
			if got := j.hostCookies(other); len(got) > 0 {
				t.Fatalf("a cookie set by %s is sent to %s: %v", u.Host, other.Host, got)
			}
		}
	})
}

func isSubdomainOf(host, domain string) bool {
	return host == domain || len(host) > len(domain) && host[len(host)-len(domain)-1:] == "."+domain
}
