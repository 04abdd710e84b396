package local

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// requireTools returns the tools directory, or skips the test when `make tools` has not run; with
// KFP_AUTHCHECK_REQUIRE_TOOLS=1 (make e2e-local, CI) a missing program fails instead.
func requireTools(t *testing.T, names ...string) string {
	t.Helper()
	dir, err := ToolsDir()
	if err == nil {
		for _, n := range names {
			if _, err = tool(dir, n); err != nil {
				break
			}
		}
	}
	if err != nil {
		if os.Getenv("KFP_AUTHCHECK_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%v", err)
		}
		if !errors.Is(err, ErrToolsMissing) {
			t.Fatalf("%v", err)
		}
		t.Skipf("%v", err)
	}
	return dir
}

// startStack starts a local stack for a built-in profile and stops it when the test ends; a failed start
// prints the programs' logs (the StartError carries them).
func startStack(t *testing.T, name string, opts Options) *Stack {
	t.Helper()
	p, err := profile.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	return startProfile(t, p, opts)
}

// startProfile is startStack for any profile (a deliberately broken copy of a built-in one).
func startProfile(t *testing.T, p *profile.Profile, opts Options) *Stack {
	t.Helper()
	opts.ToolsDir = requireTools(t, "dex", "oauth2-proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, p, opts)
	if err != nil {
		t.Fatalf("start the local %s stack: %v", p.Name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("program logs:\n%s", s.LogTails(4<<10))
		}
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}
