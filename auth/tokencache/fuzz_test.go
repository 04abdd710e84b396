package tokencache

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzCacheFile: whatever the credentials file holds (another program's, truncated, hostile), Load gives an
// entry or an error, never a panic, and Update stores our entry so that Load returns it, keeping every other
// issuer's entry of a readable file.
func FuzzCacheFile(f *testing.F) {
	for _, seed := range []string{
		`{"https://kf.example.com/dex": {"access_token": "a", "refresh_token": "r", "id_token": "i", "expires_in": 3600, "token_type": "Bearer", "expiry_time": 1700000000}}`,
		`{"https://other/dex": {"access_token": "keep"}, "https://kf.example.com/dex": null}`,
		`{"https://kf.example.com/dex": "not an object"}`,
		`{"https://kf.example.com/dex": {"expires_in": "soon"}`,
		`[]`,
		``,
		`{"a": 1e999}`,
	} {
		f.Add([]byte(seed))
	}
	const issuer = "https://kf.example.com/dex"
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		c := &Cache{Path: filepath.Join(dir, "dkf_credentials.json")}
		if err := os.WriteFile(c.Path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, _ = c.Load(issuer)
		var before map[string]json.RawMessage
		readable := json.Unmarshal(data, &before) == nil
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		want := &Entry{AccessToken: "at", RefreshToken: "rt", IDToken: "it", TokenType: "Bearer", ExpiresIn: 3600}
		if err := c.Store(ctx, issuer, want); err != nil {
			if len(data) > maxFileBytes {
				return // a file over the limit is refused, not replaced
			}
			t.Fatalf("store: %v", err)
		}
		got, err := c.Load(issuer)
		if err != nil || got == nil || got.AccessToken != "at" || got.RefreshToken != "rt" {
			t.Fatalf("load after store: %+v, %v", got, err)
		}
		if !readable {
			return
		}
		b, err := os.ReadFile(c.Path)
		if err != nil {
			t.Fatal(err)
		}
		var after map[string]json.RawMessage
		if err := json.Unmarshal(b, &after); err != nil {
			t.Fatalf("the stored file is not a JSON object: %v", err)
		}
		for k := range before {
			if _, ok := after[k]; !ok && k != issuer {
				t.Fatalf("the entry of %q was lost", k)
			}
		}
	})
}
