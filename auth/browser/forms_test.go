package browser

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

const loginHTML = `<!DOCTYPE html><html><head><title>t</title><script>var x = "hidden";</script></head><body>
<h2>Log in to Your Account</h2>
<form method="post" action="login?back=&amp;state=abc" id="f1">
  <input type="hidden" name="csrf" value="tok">
  <input id="login" name="login" type="text" value="prefilled">
  <input id="password" name="password" type="password">
  <input type="checkbox" name="remember" checked>
  <input type="checkbox" name="news" value="yes">
  <input type="text" name="off" value="x" disabled>
  <select name="lang"><option value="en">English</option><option value="de" selected>Deutsch</option></select>
  <textarea name="note">hi there</textarea>
  <button type="submit" name="go" value="1">Login</button>
</form>
<form action="/oauth2/start"><input type="hidden" name="rd" value="/pipeline/"><button>Sign in with Dex</button></form>
<a href="/dex/auth/ldap?state=1">Log in with <b>LDAP</b></a>
<a href="https://other.example/x">other</a>
<input type="text" class="theme-form-input" value="the-oob-code" />
</body></html>`

func htmlPage(t *testing.T, rawURL, body string) *Page {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return &Page{Method: "GET", URL: u, Status: 200, Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, Body: []byte(body)}
}

func TestForms(t *testing.T) {
	p := htmlPage(t, "http://gw.test/dex/auth/local/login?state=abc", loginHTML)
	forms, err := p.Forms()
	if err != nil || len(forms) != 2 {
		t.Fatalf("Forms = %d forms, err %v; want 2", len(forms), err)
	}
	login := forms[0]
	if login.ID != "f1" || login.Method != "POST" || login.Action.String() != "http://gw.test/dex/auth/local/login?back=&state=abc" {
		t.Errorf("login form = id %q %s %s", login.ID, login.Method, login.Action)
	}
	if !login.Has("login", "password", "csrf") || login.Has("username") {
		t.Errorf("Has gave wrong answers for %+v", login.Fields)
	}
	if f, _ := login.Field("password"); f.Type != "password" {
		t.Errorf("password field type %q", f.Type)
	}
	want := url.Values{"csrf": {"tok"}, "login": {"prefilled"}, "password": {""}, "remember": {"on"}, "lang": {"de"}, "note": {"hi there"}}
	if got := login.Values(); got.Encode() != want.Encode() {
		t.Errorf("Values = %v, want %v", got, want)
	}
	start := forms[1]
	if start.Method != "GET" || start.Action.String() != "http://gw.test/oauth2/start" {
		t.Errorf("start form = %s %s", start.Method, start.Action)
	}
	if f, ok := p.FindForm(func(f Form) bool { return f.Has("rd") }); !ok || f.Action.Path != "/oauth2/start" {
		t.Errorf("FindForm(rd) = %v %v", f, ok)
	}
	if _, ok := p.FindForm(func(f Form) bool { return f.Has("nothing") }); ok {
		t.Error("FindForm found a form that is not there")
	}

	links := p.Links()
	if len(links) != 2 || links[0].URL.String() != "http://gw.test/dex/auth/ldap?state=1" || links[0].Text != "Log in with LDAP" {
		t.Errorf("Links = %+v", links)
	}
	code, ok := p.InputValue(func(e Element) bool { return e.Attr("class") == "theme-form-input" })
	if !ok || code != "the-oob-code" {
		t.Errorf("InputValue = %q %v", code, ok)
	}
	if text := p.Text(); text != "Log in to Your Account English Deutsch hi there Login Sign in with Dex Log in with LDAP other" {
		t.Errorf("Text = %q", text)
	}
}

func TestBaseHrefResolvesActions(t *testing.T) {
	p := htmlPage(t, "http://gw.test/a/b", `<html><head><base href="/root/"></head><body><form action="go"></form></body></html>`)
	forms, err := p.Forms()
	if err != nil || len(forms) != 1 || forms[0].Action.String() != "http://gw.test/root/go" {
		t.Errorf("forms %+v err %v, want action resolved against <base>", forms, err)
	}
}

func TestEmptyActionSubmitsToPage(t *testing.T) {
	// Dex's approval form has no action: it posts to the page URL, query included.
	p := htmlPage(t, "http://gw.test/dex/approval?req=r1&hmac=h1",
		`<form method="post"><input type="hidden" name="req" value="r1"/><input type="hidden" name="approval" value="approve"><button type="submit">Grant Access</button></form>`)
	forms, _ := p.Forms()
	if len(forms) != 1 || forms[0].Action.String() != "http://gw.test/dex/approval?req=r1&hmac=h1" {
		t.Errorf("forms = %+v", forms)
	}
}

func TestSubmit(t *testing.T) {
	var got struct {
		method, query, body, contentType string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<10))
		got.method, got.query, got.body, got.contentType = r.Method, r.URL.RawQuery, string(body), r.Header.Get("Content-Type")
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	b := newBrowser(t, Options{})
	p := htmlPage(t, srv.URL+"/dex/auth/local/login?state=abc", loginHTML)
	forms, _ := p.Forms()

	if _, err := b.Submit(context.Background(), p, &forms[0], url.Values{"login": {"user@example.com"}, "password": {"pw-1234"}}); err != nil {
		t.Fatal(err)
	}
	wantBody := url.Values{"csrf": {"tok"}, "login": {"user@example.com"}, "password": {"pw-1234"}, "remember": {"on"}, "lang": {"de"}, "note": {"hi there"}}.Encode()
	if got.method != "POST" || got.query != "back=&state=abc" || got.body != wantBody || got.contentType != "application/x-www-form-urlencoded" {
		t.Errorf("POST submit sent %+v, want body %q", got, wantBody)
	}
	if b.Redactor().String("x pw-1234") != "x [REDACTED]" {
		t.Error("the password typed into a password field was not added to the redactor")
	}

	if _, err := b.Submit(context.Background(), p, &forms[1], nil); err != nil {
		t.Fatal(err)
	}
	if got.method != "GET" || got.query != "rd=%2Fpipeline%2F" || got.body != "" {
		t.Errorf("GET submit sent %+v", got)
	}
}
