package redact

import (
	"strings"
	"sync"
	"testing"
)

const sampleJWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJodHRwOi8vZGV4In0.c2lnbmF0dXJl"

func TestString(t *testing.T) {
	r := New("12341234", "admin", "s3cr3t value")
	tests := []struct{ name, in, want string }{
		{"known long secret", "password is 12341234.", "password is [REDACTED]."},
		{"known secret query-escaped", "login=x&pw=s3cr3t+value", "login=x&pw=[REDACTED]"},
		{"known secret path-escaped", "/p/s3cr3t%20value/", "/p/[REDACTED]/"},
		{"short secret as whole token", `login=admin@example.com&pw=admin&x="admin"`, `login=admin@example.com&pw=[REDACTED]&x="[REDACTED]"`},
		{"short secret inside a word kept", "administrator admins", "administrator admins"},
		{"jwt", "token " + sampleJWT + " end", "token [REDACTED] end"},
		{"unsigned jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "[REDACTED]"},
		{"bearer", "Authorization: Bearer abc.def-123", "Authorization: Bearer [REDACTED]"},
		{"bearer word kept", "Bearer token expired", "Bearer token expired"},
		{"query code", "/oauth2/callback?code=xyz123&state=abc%3A%2F", "/oauth2/callback?code=[REDACTED]&state=abc%3A%2F"},
		{"form body", "grant_type=authorization_code&code=c0de&code_verifier=v3r&client_id=kubeflow-pipelines-sdk",
			"grant_type=authorization_code&code=[REDACTED]&code_verifier=[REDACTED]&client_id=kubeflow-pipelines-sdk"},
		{"error_code kept", "error_code=42 status_code=401", "error_code=42 status_code=401"},
		{"state kept", "state=abcdef", "state=abcdef"},
		{"json token response", `{"access_token":"at1","token_type":"bearer","refresh_token":"rt\"1","id_token":"x"}`,
			`{"access_token":"[REDACTED]","token_type":"bearer","refresh_token":"[REDACTED]","id_token":"[REDACTED]"}`},
		{"client_secret", "client_secret=pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok", "client_secret=[REDACTED]"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNilAndZeroRedactorUsePatterns(t *testing.T) {
	var nilR *Redactor
	nilR.Add("ignored")
	if got := nilR.String("code=abc"); got != "code=[REDACTED]" {
		t.Errorf("nil redactor: got %q", got)
	}
	var zero Redactor
	zero.Add("hunter22")
	if got := zero.String("pw hunter22"); got != "pw [REDACTED]" {
		t.Errorf("zero redactor: got %q", got)
	}
}

func TestAddIgnoresEmptyAndKeepsLongestFirst(t *testing.T) {
	r := New("", "abcdefgh", "abcdefghijkl")
	if got := r.String("x abcdefghijkl y"); got != "x [REDACTED] y" {
		t.Errorf("got %q, want the longer secret replaced whole", got)
	}
	if got := r.String("nothing secret"); got != "nothing secret" {
		t.Errorf("got %q", got)
	}
}

func TestURL(t *testing.T) {
	r := New("cookievalue123")
	tests := []struct{ name, in, want string }{
		{"callback code", "http://gw/oauth2/callback?code=abc&state=s%3A%2Fpipeline", "http://gw/oauth2/callback?code=[REDACTED]&state=s%3A%2Fpipeline"},
		{"relative location", "/dex/auth?client_id=c&redirect_uri=%2Foauth2%2Fcallback", "/dex/auth?client_id=c&redirect_uri=%2Foauth2%2Fcallback"},
		{"tokens in fragment", "http://app/cb#id_token=" + sampleJWT + "&state=x", "http://app/cb#id_token=[REDACTED]&state=x"},
		{"userinfo password", "https://u:pw@host/p", "https://u:%5BREDACTED%5D@host/p"},
		{"known secret in path", "http://h/x/cookievalue123", "http://h/x/[REDACTED]"},
		{"encoded key", "http://h/?%63ode=abc", "http://h/?%63ode=[REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.URL(tt.in); got != tt.want {
				t.Errorf("URL(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestHeader(t *testing.T) {
	r := New()
	tests := []struct{ name, header, in, want string }{
		{"cookie", "cookie", "oauth2_proxy_kubeflow_0=aaa; oauth2_proxy_kubeflow_1=bbb", "oauth2_proxy_kubeflow_0=[REDACTED]; oauth2_proxy_kubeflow_1=[REDACTED]"},
		{"set-cookie keeps attributes", "Set-Cookie", "__Secure-_deploykf_token=abc; Path=/; Expires=Mon, 01 Jan 2030 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax",
			"__Secure-_deploykf_token=[REDACTED]; Path=/; Expires=Mon, 01 Jan 2030 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax"},
		{"set-cookie clearing", "Set-Cookie", "oauth2_proxy_kubeflow_csrf=; Path=/; Max-Age=0", "oauth2_proxy_kubeflow_csrf=; Path=/; Max-Age=0"},
		{"authorization bearer", "Authorization", "Bearer " + sampleJWT, "Bearer [REDACTED]"},
		{"authorization basic", "authorization", "Basic dXNlcjpwYXNz", "Basic [REDACTED]"},
		{"authorization bare token", "Authorization", sampleJWT, "[REDACTED]"},
		{"token header", "X-Auth-Request-Access-Token", "opaque", "[REDACTED]"},
		{"plain header", "Content-Type", "text/html; charset=utf-8", "text/html; charset=utf-8"},
		{"location via patterns", "Location", "/cb?code=abc&state=x", "/cb?code=[REDACTED]&state=x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Header(tt.header, tt.in); got != tt.want {
				t.Errorf("Header(%q, %q)\n got %q\nwant %q", tt.header, tt.in, got, tt.want)
			}
		})
	}
}

func TestConcurrentAddAndString(t *testing.T) {
	r := New()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); r.Add(strings.Repeat("k", 8+i)) }()
		go func() { defer wg.Done(); _ = r.String("kkkkkkkkkkkkkkkk") }()
	}
	wg.Wait()
	if got := r.String("kkkkkkkkkkkkkkk"); got != Mask {
		t.Errorf("got %q, want the whole run masked", got)
	}
}

// TestEncodedForms: a server may echo a secret JSON-escaped, HTML-escaped or inside Basic credentials; every form
// is redacted (the issue's Pa"ss\word survived into every report before).
func TestEncodedForms(t *testing.T) {
	const pw = `Pa"ss\word<&>'1`
	r := New(pw)
	r.AddBasic("alice@example.com", pw)
	for name, in := range map[string]string{
		"raw":                 "pw=" + pw,
		"json-escaped":        `{"error":"bad password Pa\"ss\\word<&>'1"}`,
		"json html-safe":      `{"error":"Pa\"ss\\word\u003c\u0026\u003e'1"}`,
		"html entities":       `<p>Pa&#34;ss\word&lt;&amp;&gt;&#39;1</p>`,
		"html named quotes":   `<p>Pa&quot;ss\word&lt;&amp;&gt;&#x27;1</p>`,
		"html apos":           `<p>Pa&quot;ss\word&lt;&amp;&gt;&apos;1</p>`,
		"basic credentials":   "Authorization: Basic YWxpY2VAZXhhbXBsZS5jb206UGEic3Ncd29yZDwmPicx",
		"basic, url alphabet": "YWxpY2VAZXhhbXBsZS5jb206UGEic3Ncd29yZDwmPicx",
		"query-escaped":       "pw=Pa%22ss%5Cword%3C%26%3E%271",
	} {
		if got := r.String(in); strings.Contains(got, "ss\\word") || strings.Contains(got, "YWxpY2VAZXhhbXBsZS5jb206") {
			t.Errorf("%s: %q survives as %q", name, in, got)
		}
	}
}

// TestCutRedactsFirst: cutting a body to 80 characters must not keep the first part of a token.
func TestCutRedactsFirst(t *testing.T) {
	r := New(sampleJWT)
	body := `{"message":"token ` + sampleJWT + ` refused"}`
	got := r.Cut(body, 30)
	if strings.Contains(got, "eyJ") {
		t.Fatalf("Cut kept a piece of the token: %q", got)
	}
	if got := New().Cut("ééé", 3); got != "é..." {
		t.Fatalf("Cut split a character: %q", got)
	}
}
