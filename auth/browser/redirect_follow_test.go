package browser

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestFollowRefusesAHost: with Follow set, a redirect to a host it refuses ends the chain on the redirect itself
// (Location kept, nothing sent there), while redirects it allows are followed as usual.
func TestFollowRefusesAHost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			http.Redirect(w, r, "/b", http.StatusFound)
		case "/b":
			http.Redirect(w, r, "http://elsewhere.invalid/x", http.StatusFound)
		}
	}))
	defer srv.Close()
	here, _ := url.Parse(srv.URL)
	b, err := New(Options{Follow: func(to *url.URL) bool { return to.Host == here.Host }})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.Get(context.Background(), srv.URL+"/a")
	if err != nil {
		t.Fatalf("a refused redirect is an answer, not an error: %v", err)
	}
	if p.Status != http.StatusFound || p.URL.Path != "/b" || p.Header.Get("Location") != "http://elsewhere.invalid/x" || len(p.Hops) != 1 {
		t.Errorf("page %d %s, Location %q, %d hops", p.Status, p.URL, p.Header.Get("Location"), len(p.Hops))
	}
}
