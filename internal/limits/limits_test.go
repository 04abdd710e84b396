package limits

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheckYAML(t *testing.T) {
	for _, c := range []struct {
		name, doc, want string // want "" means accepted
	}{
		{"plain", "a: 1\nb: [x, y]\n", ""},
		{"a few aliases", "a: &x [1, 2]\nb: *x\nc: *x\n", ""},
		{"a trailing ---", "a: 1\n---\n", ""},
		{"a trailing --- and a comment", "a: 1\n---\n# nothing\n", ""},
		{"a second document", "a: 1\n---\nb: 2\n", "more than one YAML document"},
		{"nested laughs", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n", "beyond the limit"},
		{"one long scalar aliased", "a: [&s \"" + strings.Repeat("S", 1000) + "\"" + strings.Repeat(", *s", 5000) + "]\n", "beyond the limit"},
		{"a syntax error is left to the decoder", "a: [\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckYAML([]byte(c.doc))
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestReadLimit(t *testing.T) {
	if _, err := Read(strings.NewReader(strings.Repeat("x", 10)), "ten", 10); err != nil {
		t.Fatalf("exactly the limit: %v", err)
	}
	_, err := Read(strings.NewReader(strings.Repeat("x", 11)), "eleven", 10)
	if err == nil || err.Error() != "eleven is larger than the limit of 10 bytes" {
		t.Fatalf("over the limit: %v", err)
	}
}

func TestTransportLimit(t *testing.T) {
	for _, c := range []struct {
		size    int
		tooLong bool
	}{{1000, false}, {1001, true}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(strings.Repeat("x", c.size)))
		}))
		client := Client(srv.Client(), 1000)
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		if c.tooLong != (err != nil) || (err != nil && !errors.Is(err, ErrBodyTooLarge)) {
			t.Fatalf("a body of %d bytes with a limit of 1000: read %d, err %v", c.size, len(b), err)
		}
	}
}
