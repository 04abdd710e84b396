package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
)

// testServer serves the wire behaviours the browser must handle.
func testServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	// /redirect/{code}?to=X answers code with Location X.
	mux.HandleFunc("/redirect/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.Header().Set("Location", r.URL.Query().Get("to"))
		w.WriteHeader(code)
	})
	// /echo answers "METHOD content-type body".
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<10))
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s %s", r.Method, r.Header.Get("Content-Type"), body)
	})
	mux.HandleFunc("/loop/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/b", http.StatusFound) })
	mux.HandleFunc("/loop/b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/a", http.StatusFound) })
	// /chain/{n} redirects n times before answering.
	mux.HandleFunc("/chain/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n == 0 {
			fmt.Fprint(w, "done")
			return
		}
		http.Redirect(w, r, "/chain/"+strconv.Itoa(n-1), http.StatusFound)
	})
	mux.HandleFunc("/bytes/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte(strings.Repeat("x", n)))
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, "{}")
	})
	mux.HandleFunc("/block", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	return httptest.NewServer(mux)
}

func newBrowser(t *testing.T, opts Options) *Browser {
	t.Helper()
	b, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func TestRedirectMethodRules(t *testing.T) {
	srv := testServer(t)
	defer srv.Close()
	tests := []struct {
		status     int
		method     string
		wantMethod string
		wantBody   bool
	}{
		{301, "GET", "GET", false},
		{301, "POST", "GET", false},
		{302, "POST", "GET", false},
		{302, "PUT", "PUT", true}, // Fetch rewrites only POST on 301/302
		{303, "POST", "GET", false},
		{303, "PUT", "GET", false},
		{307, "POST", "POST", true},
		{307, "PUT", "PUT", true},
		{308, "POST", "POST", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d after %s", tt.status, tt.method), func(t *testing.T) {
			b := newBrowser(t, Options{})
			req, _ := http.NewRequest(tt.method, srv.URL+"/redirect/"+strconv.Itoa(tt.status)+"?to=../echo", strings.NewReader("a=1"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			page, err := b.Do(context.Background(), req)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			want := tt.wantMethod + "  "
			if tt.wantBody {
				want = tt.wantMethod + " application/x-www-form-urlencoded a=1"
			}
			if got := string(page.Body); got != want {
				t.Errorf("echo = %q, want %q", got, want)
			}
			if page.URL.Path != "/echo" || page.Method != tt.wantMethod {
				t.Errorf("landed on %s %s, want %s /echo", page.Method, page.URL.Path, tt.wantMethod)
			}
			if len(page.Hops) != 1 || page.Hops[0].Status != tt.status || page.Hops[0].Location != "../echo" || page.Hops[0].Method != tt.method {
				t.Errorf("hops = %+v, want one %d hop from %s with Location ../echo", page.Hops, tt.status, tt.method)
			}
		})
	}
}

func TestRedirectLoopAndCap(t *testing.T) {
	srv := testServer(t)
	defer srv.Close()
	b := newBrowser(t, Options{MaxRedirects: 3})
	ctx := context.Background()

	if _, err := b.Get(ctx, srv.URL+"/loop/a"); !errors.Is(err, ErrRedirectLoop) {
		t.Errorf("loop: err = %v, want ErrRedirectLoop", err)
	}
	if page, err := b.Get(ctx, srv.URL+"/chain/3"); err != nil || string(page.Body) != "done" || len(page.Hops) != 3 {
		t.Errorf("3 redirects with MaxRedirects 3: page %v, err %v; want done after 3 hops", page, err)
	}
	if _, err := b.Get(ctx, srv.URL+"/chain/4"); !errors.Is(err, ErrTooManyRedirects) {
		t.Errorf("4 redirects: err = %v, want ErrTooManyRedirects", err)
	}
	if got := Classify(fmt.Errorf("wrapped: %w", ErrTooManyRedirects)); got != "REDIRECT_LOOP" {
		t.Errorf("Classify(too many) = %s", got)
	}
}

func TestBodyIsBounded(t *testing.T) {
	srv := testServer(t)
	defer srv.Close()
	b := newBrowser(t, Options{MaxBody: 100})
	page, err := b.Get(context.Background(), srv.URL+"/bytes/100")
	if err != nil || len(page.Body) != 100 {
		t.Fatalf("exactly MaxBody: err %v", err)
	}
	_, err = b.Get(context.Background(), srv.URL+"/bytes/101")
	if !errors.Is(err, ErrBodyTooLarge) || Classify(err) != "RESPONSE_TOO_LARGE" {
		t.Errorf("MaxBody+1: err = %v (%s), want ErrBodyTooLarge", err, Classify(err))
	}
}

func TestNotHTML(t *testing.T) {
	srv := testServer(t)
	defer srv.Close()
	b := newBrowser(t, Options{})
	page, err := b.Get(context.Background(), srv.URL+"/json")
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != http.StatusUnauthorized || page.IsHTML() {
		t.Errorf("status %d html %v, want 401 and not HTML", page.Status, page.IsHTML())
	}
	if _, err := page.Forms(); !errors.Is(err, ErrNotHTML) || Classify(err) != "NOT_HTML" {
		t.Errorf("Forms on JSON: err = %v, want ErrNotHTML", err)
	}
	if page.Links() != nil {
		t.Error("Links on JSON should be empty")
	}
	if page.Text() != "{}" {
		t.Errorf("Text = %q, want the body", page.Text())
	}
}

func TestPerRequestTimeout(t *testing.T) {
	srv := testServer(t)
	defer srv.Close()
	b := newBrowser(t, Options{Timeout: 50 * time.Millisecond})
	start := time.Now()
	_, err := b.Get(context.Background(), srv.URL+"/block")
	if Classify(err) != "TIMEOUT" {
		t.Errorf("err = %v, classified %s, want TIMEOUT", err, Classify(err))
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("timeout took %v", time.Since(start))
	}
}

func TestHistoryIsRedacted(t *testing.T) {
	const session = "c2Vzc2lvbi12YWx1ZS10aGF0LWlzLWxvbmc"
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "oauth2_proxy_kubeflow", Value: session, Path: "/", HttpOnly: true})
		http.Redirect(w, r, "/cb?code=secretcode&state=st", http.StatusFound)
	})
	mux.HandleFunc("/cb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<p>ok "+r.Header.Get("Authorization")+"</p>")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	r := redact.New()
	b := newBrowser(t, Options{Redactor: r})
	req, _ := http.NewRequest("GET", srv.URL+"/login", nil)
	req.Header.Set("Authorization", "Bearer opaque-token-1234")
	if _, err := b.Do(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	h := b.History()
	if len(h) != 2 {
		t.Fatalf("history has %d exchanges, want 2: %+v", len(h), h)
	}
	first, second := h[0], h[1]
	if first.Status != 302 || first.Location != "/cb?code=[REDACTED]&state=st" {
		t.Errorf("first hop status %d location %q", first.Status, first.Location)
	}
	if got := first.Headers["Set-Cookie"]; got != "oauth2_proxy_kubeflow=[REDACTED]; Path=/; HttpOnly" {
		t.Errorf("Set-Cookie evidence = %q", got)
	}
	if got := first.Headers["Request-Authorization"]; got != "Bearer [REDACTED]" {
		t.Errorf("Authorization evidence = %q", got)
	}
	if second.URL != srv.URL+"/cb?code=[REDACTED]&state=st" {
		t.Errorf("second URL = %q", second.URL)
	}
	if got := second.Headers["Request-Cookie"]; got != "oauth2_proxy_kubeflow=[REDACTED]" {
		t.Errorf("Cookie evidence = %q", got)
	}
	if got := second.Headers["Request-Authorization"]; got != "Bearer [REDACTED]" {
		t.Errorf("Authorization kept on same-host redirect, evidence = %q", got)
	}
	for _, ex := range h {
		all := fmt.Sprintf("%+v", ex)
		for _, secret := range []string{session, "secretcode", "opaque-token-1234"} {
			if strings.Contains(all, secret) {
				t.Errorf("evidence leaks %q: %s", secret, all)
			}
		}
	}
	// The cookie value was learnt by the shared redactor.
	if got := r.String("value " + session); got != "value [REDACTED]" {
		t.Errorf("redactor did not learn the cookie value: %q", got)
	}
}

func TestGetBadURL(t *testing.T) {
	b := newBrowser(t, Options{})
	_, err := b.Get(context.Background(), "http://[::1:bad/?code=abc")
	if err == nil || strings.Contains(err.Error(), "abc") {
		t.Errorf("err = %v, want an error without the code", err)
	}
}
