package satoken

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestVolumeTransportRereadsEveryRequest: the header follows the file's current content, and a missing file
// fails before anything is sent (what the retired checks SA-008 and SA-006 judged).
func TestVolumeTransportRereadsEveryRequest(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "token")
	c := &http.Client{Transport: &VolumeTransport{Path: path}}
	for _, tok := range []string{"first\n", "second"} {
		if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(got) != 2 || got[0] != "Bearer first" || got[1] != "Bearer second" {
		t.Fatalf("headers %q, want the file's content each time", got)
	}
	os.Remove(path)
	if _, err := c.Get(srv.URL); !errors.Is(err, ErrNoToken) {
		t.Fatalf("missing file: %v, want ErrNoToken", err)
	}
	if len(got) != 2 {
		t.Errorf("a request went out without a token")
	}
	os.WriteFile(path, []byte("  \n"), 0o600)
	if _, err := ReadToken(path); !errors.Is(err, ErrNoToken) {
		t.Errorf("empty file: %v", err)
	}
}

func TestTokenPath(t *testing.T) {
	if p := TokenPath(func(string) string { return "" }); p != DefaultTokenPath {
		t.Errorf("default %q", p)
	}
	if p := TokenPath(func(k string) string { return map[string]string{EnvTokenPath: "/x"}[k] }); p != "/x" {
		t.Errorf("env %q", p)
	}
}
