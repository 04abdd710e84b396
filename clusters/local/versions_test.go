package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

func TestNearestServed(t *testing.T) {
	for _, c := range []struct {
		want string
		have []string
		runs string
		err  bool
	}{
		{"v2.44.0", servedDex, "v2.44.0", false},
		{"v2.36.0", servedDex, "v2.36.0", false},
		{"v2.43.0", servedDex, "v2.44.0", false}, // one minor up beats two down
		{"v2.45.0", servedDex, "v2.44.0", false}, // past the newest
		{"v2.40.0", servedDex, "v2.41.1", false}, // one minor either way: the smaller patch gap
		{"v2.38.0", servedDex, "v2.37.0", false}, // one minor either way: the smaller patch gap
		{"v2.38.5", servedDex, "v2.39.1", false},
		{"v2.30.0", servedDex, "v2.36.0", false}, // before the oldest
		{"v7.13.0", servedOAuth2Proxy, "v7.15.6", false},
		{"v7.14.3", servedOAuth2Proxy, "v7.15.6", false},
		{"v7.7.0", servedOAuth2Proxy, "v7.7.1", false}, // the patch gap decides within a minor
		{"v7.7.9", servedOAuth2Proxy, "v7.7.1", false}, // a minor gap outweighs any patch gap
		{"v7.5.0", servedOAuth2Proxy, "v7.6.0", false}, // tie between v7.4.0 and v7.6.0: the newer
		{"v6.1.0", servedOAuth2Proxy, "v7.4.0", false}, // another major: the closest of the rest
		{"v7.6.0", []string{"junk", "v7.6.1"}, "v7.6.1", false},
		{"7.6.0", servedOAuth2Proxy, "", true},
		{"v7.6", servedOAuth2Proxy, "", true},
		{"latest", servedOAuth2Proxy, "", true},
		{"v7.6.0", nil, "", true},
	} {
		got, err := NearestServed(c.want, c.have)
		if (err != nil) != c.err || got != c.runs {
			t.Errorf("NearestServed(%q) = %q, %v; want %q (error %t)", c.want, got, err, c.runs, c.err)
		}
	}
}

// fakeTools writes executables and stamps the way tools/build.sh leaves them.
func fakeTools(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, stamp := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".stamp"), []byte(stamp+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestChooseTool(t *testing.T) {
	dir := fakeTools(t, map[string]string{
		"dex":                  "github.com/dexidp/dex@v0.0.0-20240807174518-43956db7fd75 go1.26.8 mod:x",
		"dex-v2.36.0":          "github.com/dexidp/dex@v0.0.0-20230320125501-2bb4896d120e go1.26.8 mod:x",
		"dex-v2.44.0":          "github.com/dexidp/dex@v0.0.0-20250829100637-2dce75009acf go1.26.8 mod:x",
		"oauth2-proxy":         "github.com/oauth2-proxy/oauth2-proxy/v7@v7.8.1 go1.26.8 mod:x",
		"oauth2-proxy-v7.15.6": "github.com/oauth2-proxy/oauth2-proxy/v7@v7.15.6 go1.26.8 mod:x",
	})
	for _, c := range []struct {
		program, named, bin, says string
	}{
		{"dex", "v2.44.0", "dex-v2.44.0", "v2.44.0 (runs v2.44.0)"},
		{"dex", "v2.41.1", "dex", "v2.41.1 (runs v2.41.1)"}, // the current pin is that release
		{"dex", "v2.45.0", "dex-v2.44.0", "v2.45.0 (runs v2.44.0: v2.45.0 is not served)"},
		{"dex", "v2.39.1", "dex", "v2.39.1 (runs v2.41.1: v2.39.1 is not built here (tools/build.sh builds the versions the built-in profiles name))"},
		{"dex", "v2.38.0", "dex-v2.36.0", "v2.38.0 (runs v2.36.0: v2.38.0 is not served and its nearest served release v2.37.0 is not built here)"},
		{"dex", "", "dex", "v2.41.1 (the current pin: the profile names no version)"},
		{"oauth2-proxy", "v7.13.0", "oauth2-proxy-v7.15.6", "v7.13.0 (runs v7.15.6: v7.13.0 is not served)"},
		{"oauth2-proxy", "v7.14.3", "oauth2-proxy-v7.15.6", "v7.14.3 (runs v7.15.6: v7.14.3 is not served)"},
		{"oauth2-proxy", "v7.8.1", "oauth2-proxy", "v7.8.1 (runs v7.8.1)"},
	} {
		got, err := chooseTool(dir, c.program, c.named)
		if err != nil {
			t.Errorf("%s %s: %v", c.program, c.named, err)
			continue
		}
		if got.Binary != filepath.Join(dir, c.bin) || got.String() != c.says {
			t.Errorf("%s %s: runs %s, says %q; want %s, %q", c.program, c.named, got.Binary, got, c.bin, c.says)
		}
	}
	if _, err := chooseTool(dir, "dex", "latest"); err == nil || !strings.Contains(err.Error(), "vMAJOR.MINOR.PATCH") {
		t.Errorf("a version that is not a release: %v", err)
	}
	unstamped := t.TempDir()
	if err := os.WriteFile(filepath.Join(unstamped, "oauth2-proxy"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := chooseTool(unstamped, "oauth2-proxy", "v7.13.0"); err != nil || got.Binary != filepath.Join(unstamped, "oauth2-proxy") ||
		got.String() != "v7.13.0 (runs unknown: v7.13.0 is not served and its nearest served release v7.15.6 is not built here)" {
		t.Errorf("a pin without a stamp: %v, %v", got, err)
	}
	if _, err := chooseTool(t.TempDir(), "dex", "v2.44.0"); !errors.Is(err, ErrToolsMissing) {
		t.Errorf("nothing built: %v, want ErrToolsMissing", err)
	}
}

// TestVersionedToolsMatchProfiles holds tools/build.sh's per-version list to the versions the built-in profiles
// name: each named version runs as itself or its nearest served release, which is either a current pin (tools/dex,
// tools/oauth2-proxy) or listed; nothing else is listed (CI builds only what a profile uses).
func TestVersionedToolsMatchProfiles(t *testing.T) {
	script, err := os.ReadFile("../../tools/build.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)\nversioned=\((.*?)\n\)`).FindSubmatch(script)
	if m == nil {
		t.Fatal("tools/build.sh has no versioned=( ... ) list")
	}
	listed := map[string]bool{}
	for _, e := range regexp.MustCompile(`"((dex|oauth2-proxy)-v[0-9.]+)\|([^|]+)\|`).FindAllSubmatch(m[1], -1) {
		if string(e[1]) != string(e[3]) {
			t.Errorf("%s is built from tools/%s; want its own module directory tools/%s", e[1], e[3], e[1])
		}
		if _, err := os.Stat(filepath.Join("../../tools", string(e[3]), "go.mod")); err != nil {
			t.Errorf("%s: %v", e[1], err)
		}
		listed[string(e[1])] = true
	}
	pins := map[string]string{"dex": "v2.41.1", "oauth2-proxy": "v7.8.1"} // tools/dex, tools/oauth2-proxy
	needed := map[string]bool{}
	for _, name := range profile.Names() {
		p, err := profile.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		var named = map[string]string{}
		if p.Dex != nil && p.Dex.Version != "" {
			named["dex"] = p.Dex.Version
		}
		if p.Gateway != nil && p.Gateway.Kind == "oauth2-proxy" && p.Gateway.Version != "" {
			named["oauth2-proxy"] = p.Gateway.Version
		}
		for program, v := range named {
			served := servedOAuth2Proxy
			if program == "dex" {
				served = servedDex
			}
			runs, err := NearestServed(v, served)
			if err != nil {
				t.Errorf("profile %s: %s %s: %v", name, program, v, err)
				continue
			}
			if runs != pins[program] {
				needed[program+"-"+runs] = true
			}
		}
	}
	var missing, extra []string
	for n := range needed {
		if !listed[n] {
			missing = append(missing, n)
		}
	}
	for n := range listed {
		if !needed[n] {
			extra = append(extra, n)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("tools/build.sh's versioned list: missing %v (a built-in profile runs them), not used by any built-in profile %v", missing, extra)
	}
	// The pins' own module versions are the releases the table above says.
	for program, rel := range pins {
		b, err := os.ReadFile(filepath.Join("../../tools", program, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		mod := "github.com/dexidp/dex "
		if program == "oauth2-proxy" {
			mod = "github.com/oauth2-proxy/oauth2-proxy/v7 "
		}
		i := strings.Index(string(b), "require "+mod)
		if i < 0 {
			t.Fatalf("tools/%s/go.mod requires no %s", program, mod)
		}
		v := strings.Fields(string(b)[i+len("require "+mod):])[0]
		if releaseOf(program, v) != rel {
			t.Errorf("tools/%s pins %s, which is %q; the test takes it as %s", program, v, releaseOf(program, v), rel)
		}
	}
}

// TestEachReleaseRunsItsOwnPrograms starts every built-in release on its own Dex and oauth2-proxy (tools/build.sh
// builds them), logs in through them, and checks the stack says which versions the profile names and which run.
func TestEachReleaseRunsItsOwnPrograms(t *testing.T) {
	for _, c := range []struct {
		profile   string
		dex       string // the binary
		dexSays   string
		proxy     string // "" for oidc-authservice (its stand-in runs, not oauth2-proxy)
		proxySays string
	}{
		{"kubeflow-1.8", "dex-v2.36.0", "v2.36.0 (runs v2.36.0)", "", ""},
		{"kubeflow-1.9", "dex-v2.39.1", "v2.39.1 (runs v2.39.1)", "oauth2-proxy-v7.6.0", "v7.6.0 (runs v7.6.0)"},
		{"kubeflow-1.10", "dex", "v2.41.1 (runs v2.41.1)", "oauth2-proxy-v7.7.1", "v7.7.1 (runs v7.7.1)"},
		{"kubeflow-1.11", "dex-v2.44.0", "v2.44.0 (runs v2.44.0)", "oauth2-proxy-v7.15.6", "v7.13.0 (runs v7.15.6: v7.13.0 is not served)"},
		{"deploykf", "dex-v2.39.1", "v2.39.1 (runs v2.39.1)", "oauth2-proxy-v7.6.0", "v7.6.0 (runs v7.6.0)"},
	} {
		t.Run(c.profile, func(t *testing.T) {
			need := []string{c.dex}
			if c.proxy != "" {
				need = append(need, c.proxy)
			}
			requireTools(t, need...)
			s := startStack(t, c.profile, Options{})
			if got := s.Versions["dex"]; got != c.dexSays {
				t.Errorf("dex: %q, want %q", got, c.dexSays)
			}
			if got := s.Versions["oauth2-proxy"]; got != c.proxySays {
				t.Errorf("oauth2-proxy: %q, want %q", got, c.proxySays)
			}
			if c.proxy != "" && !strings.Contains(s.VersionList(), "oauth2-proxy "+c.proxySays) {
				t.Errorf("programs line: %s", s.VersionList())
			}
			env := checks.NewEnv(s.Target())
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			u, err := env.FirstUser("local")
			if err != nil {
				t.Fatal(err)
			}
			sess, _, err := env.Login(ctx, u)
			if err != nil {
				t.Fatalf("login through %s and %s: %v", c.dex, orStandIn(c.proxy), err)
			}
			if _, err := env.API(sess).ListExperiments(ctx, u.Namespace); err != nil {
				t.Fatalf("list experiments after the login: %v", err)
			}
		})
	}
}

func orStandIn(proxy string) string {
	if proxy == "" {
		return "the oidc-authservice stand-in"
	}
	return proxy
}
