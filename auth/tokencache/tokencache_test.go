package tokencache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// helperEnv makes the test binary act as one of several concurrent writers (see TestConcurrentProcesses).
const helperEnv = "TOKENCACHE_TEST_HELPER"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		os.Exit(helper(path))
	}
	os.Exit(m.Run())
}

// helper increments a counter kept in the entry's expires_in, many times, each a read-modify-write under the lock.
func helper(path string) int {
	c := &Cache{Path: path}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 25 {
		if _, err := c.Update(ctx, "https://a.example/dex", func(cur *Entry) (*Entry, error) {
			n := &Entry{AccessToken: "at", ExpiresAt: 1}
			if cur != nil {
				n.ExpiresIn = cur.ExpiresIn + 1
			} else {
				n.ExpiresIn = 1
			}
			return n, nil
		}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// TestKeepsOtherIssuersAndMode0600 and TestConcurrentProcesses hold what the retired check OOB-008 judged.
func TestKeepsOtherIssuersAndMode0600(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kfp", "dkf_credentials.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// The seed's client left a world-readable file with another cluster's token and a float expires_at.
	seed := `{"https://other.example/dex": {"access_token": "a", "id_token": "i", "refresh_token": "r", "expires_at": 1735689600.25, "scope": ["openid"]}}`
	if err := os.WriteFile(path, []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Cache{Path: path}
	ctx := context.Background()
	if err := c.Store(ctx, "https://mine.example/dex", &Entry{AccessToken: "x", IDToken: "y", ExpiresAt: 2e9}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	var all map[string]map[string]any
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	other := all["https://other.example/dex"]
	if other == nil || other["refresh_token"] != "r" || other["scope"] == nil || other["expires_at"] != 1735689600.25 {
		t.Errorf("the other issuer's entry was not kept as it was: %v", other)
	}
	mine, err := c.Load("https://mine.example/dex")
	if err != nil || mine == nil || mine.IDToken != "y" || mine.Expiry().Unix() != 2e9 {
		t.Errorf("own entry %+v %v", mine, err)
	}
	o, err := c.Load("https://other.example/dex")
	switch {
	case err != nil || o == nil:
		t.Errorf("the other issuer's entry: %v %v", o, err)
	case o.Expiry().UnixMilli() != 1735689600250:
		t.Errorf("float expires_at read as %v", o.Expiry())
	}
	if e, err := c.Load("https://unknown.example/dex"); e != nil || err != nil {
		t.Errorf("unknown issuer: %v %v", e, err)
	}
	// No temporary files are left next to it.
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if e.Name() != "dkf_credentials.json" && e.Name() != "dkf_credentials.json.lock" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(path, []byte(`{"https://a/dex": {"access_tok`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &Cache{Path: path}
	if _, err := c.Load("https://a/dex"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Load of a truncated file: %v, want ErrCorrupt", err)
	}
	if err := c.Store(context.Background(), "https://a/dex", &Entry{AccessToken: "n", ExpiresAt: 5}); err != nil {
		t.Fatal(err)
	}
	if e, err := c.Load("https://a/dex"); err != nil || e.AccessToken != "n" {
		t.Errorf("after replacing a corrupt file: %+v %v", e, err)
	}
}

func TestUpdateErrorStoresNothing(t *testing.T) {
	c := &Cache{Path: filepath.Join(t.TempDir(), "c.json")}
	boom := errors.New("boom")
	if _, err := c.Update(context.Background(), "i", func(*Entry) (*Entry, error) { return &Entry{AccessToken: "x"}, boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Path); !os.IsNotExist(err) {
		t.Errorf("file written despite the error: %v", err)
	}
}

func TestLockWaitHonoursTheContext(t *testing.T) {
	c := &Cache{Path: filepath.Join(t.TempDir(), "c.json")}
	release := make(chan struct{})
	held := make(chan struct{})
	go func() {
		_, _ = c.Update(context.Background(), "i", func(*Entry) (*Entry, error) {
			close(held)
			<-release
			return nil, nil
		})
	}()
	<-held
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Update(ctx, "i", func(*Entry) (*Entry, error) { return nil, nil })
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("waiting on a held lock: %v after %v", err, time.Since(start))
	}
}

// TestConcurrentProcesses runs four processes that each increment a counter 25 times through Update: with the
// lock no increment is lost and the file is valid JSON throughout.
func TestConcurrentProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dkf_credentials.json")
	c := &Cache{Path: path}
	if err := c.Store(context.Background(), "https://keep.example/dex", &Entry{AccessToken: "k", ExpiresAt: 1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const procs = 4
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmds[i] = exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmds[i].Env = append(os.Environ(), helperEnv+"="+path)
		cmds[i].Stderr = os.Stderr
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper: %v", err)
		}
	}
	e, err := c.Load("https://a.example/dex")
	if err != nil || e == nil {
		t.Fatalf("load: %v", err)
	}
	if want := int64(procs * 25); e.ExpiresIn != want {
		t.Errorf("counter %d, want %d: increments were lost", e.ExpiresIn, want)
	}
	if k, _ := c.Load("https://keep.example/dex"); k == nil || k.AccessToken != "k" {
		t.Errorf("other issuer lost under concurrency: %+v", k)
	}
}

func TestDeleteAndEntries(t *testing.T) {
	c := &Cache{Path: filepath.Join(t.TempDir(), "creds.json")}
	ctx := context.Background()
	if ok, err := c.Delete(ctx, "https://a/dex"); ok || err != nil {
		t.Fatalf("delete from no file: %v %v", ok, err)
	}
	for _, iss := range []string{"https://a/dex", "https://b/dex"} {
		if err := c.Store(ctx, iss, &Entry{AccessToken: "x", ExpiresAt: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := c.Delete(ctx, "https://a/dex"); !ok || err != nil {
		t.Fatalf("delete: %v %v", ok, err)
	}
	all, err := c.Entries()
	if err != nil || len(all) != 1 || all["https://b/dex"] == nil {
		t.Fatalf("entries after delete: %v %v", all, err)
	}
	if ok, _ := c.Delete(ctx, "https://a/dex"); ok {
		t.Error("deleted twice")
	}
}
