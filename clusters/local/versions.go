package local

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The Dex and oauth2-proxy releases the Go module proxy serves (checked when issue 16 was written), in version
// order. Dex tags no Go module releases past v2 (its module path has no /v2), so the proxy serves each release as
// the pseudo-version of its tagged commit; some releases it refuses (Dex v2.43.0, v2.45.0; oauth2-proxy v7.13.0,
// v7.14.3), and a profile naming one runs the nearest served release instead (NearestServed).
var (
	servedDex = []string{"v2.36.0", "v2.37.0", "v2.39.1", "v2.41.1", "v2.44.0"}
	// dexPseudo maps the pseudo-versions tools/dex* pin to the release each one is.
	dexPseudo = map[string]string{
		"v0.0.0-20230320125501-2bb4896d120e": "v2.36.0",
		"v0.0.0-20230630132844-08bb7fb98b16": "v2.37.0",
		"v0.0.0-20240409110506-3705207f0190": "v2.39.1",
		"v0.0.0-20240807174518-43956db7fd75": "v2.41.1",
		"v0.0.0-20250829100637-2dce75009acf": "v2.44.0",
	}
	servedOAuth2Proxy = []string{"v7.4.0", "v7.6.0", "v7.7.1", "v7.8.1", "v7.15.6"}
)

// semver is a release's major, minor and patch numbers.
type semver [3]int

func parseRelease(v string) (semver, error) {
	var s semver
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if !strings.HasPrefix(v, "v") || len(parts) != 3 {
		return s, fmt.Errorf("version %q: want a release vMAJOR.MINOR.PATCH", v)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return s, fmt.Errorf("version %q: want a release vMAJOR.MINOR.PATCH", v)
		}
		s[i] = n
	}
	return s, nil
}

// distance orders candidates by how far they are from want: first the major, then the minor, then the patch gap.
func distance(a, b semver) semver {
	var d semver
	for i := range a {
		d[i] = a[i] - b[i]
		if d[i] < 0 {
			d[i] = -d[i]
		}
	}
	return d
}

func less(a, b semver) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// NearestServed is the release of have that runs for a profile naming want: want itself when have holds it, else
// the closest by version order (major, then minor, then patch), ties going to the newer (DECISIONS.md "Profiles
// from manifests": oauth2-proxy v7.13.0 and v7.14.3 run as v7.15.6). Entries of have that are not releases are
// skipped; a want that is not a release, or an empty have, is an error.
func NearestServed(want string, have []string) (string, error) {
	w, err := parseRelease(want)
	if err != nil {
		return "", err
	}
	best, bestV := "", semver{}
	var bestD semver
	for _, h := range have {
		v, err := parseRelease(h)
		if err != nil {
			continue
		}
		d := distance(w, v)
		if best == "" || less(d, bestD) || (d == bestD && less(bestV, v)) {
			best, bestV, bestD = h, v, d
		}
	}
	if best == "" {
		return "", fmt.Errorf("no release to run for %s", want)
	}
	return best, nil
}

// ToolChoice is the program the tier runs for the version a profile names.
type ToolChoice struct {
	Named  string // the profile's version ("" when it names none)
	Runs   string // the release that runs
	Binary string // its path
	Why    string // why Runs is not Named ("" when they agree)
}

// String is what the run's programs line and the stack's Versions say: "v2.44.0 (runs v2.44.0)",
// "v7.13.0 (runs v7.15.6: v7.13.0 is not served)".
func (c ToolChoice) String() string {
	if c.Named == "" {
		return fmt.Sprintf("%s (the current pin: the profile names no version)", c.Runs)
	}
	if c.Why != "" {
		return fmt.Sprintf("%s (runs %s: %s)", c.Named, c.Runs, c.Why)
	}
	return fmt.Sprintf("%s (runs %s)", c.Named, c.Runs)
}

// builtReleases lists the releases of program built in tools: <program>-<release> from tools/build.sh's per-version
// modules, and <program> itself at the release its pin is (the current pin, which the kind images also use).
func builtReleases(tools, program string) map[string]string {
	out := map[string]string{}
	if _, err := tool(tools, program); err == nil {
		if r := releaseOf(program, ToolVersion(tools, program)); r != "" {
			out[r] = filepath.Join(tools, program)
		}
	}
	ents, _ := os.ReadDir(tools)
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), program+"-v")
		if !ok || strings.HasSuffix(rest, ".stamp") {
			continue
		}
		r := "v" + rest
		if _, err := parseRelease(r); err != nil {
			continue
		}
		if p, err := tool(tools, e.Name()); err == nil {
			out[r] = p
		}
	}
	return out
}

// releaseOf is the release a pinned module version is.
func releaseOf(program, moduleVersion string) string {
	if program == "dex" {
		return dexPseudo[moduleVersion]
	}
	if _, err := parseRelease(moduleVersion); err == nil {
		return moduleVersion
	}
	return ""
}

// chooseTool picks the binary of program for the version the profile names: that release when it is built, else
// the nearest served release that is built. A profile naming no version runs the current pin.
func chooseTool(tools, program, named string) (ToolChoice, error) {
	served := servedOAuth2Proxy
	if program == "dex" {
		served = servedDex
	}
	built := builtReleases(tools, program)
	if named == "" {
		p, err := tool(tools, program)
		if err != nil {
			return ToolChoice{}, err
		}
		r := releaseOf(program, ToolVersion(tools, program))
		if r == "" {
			r = ToolVersion(tools, program)
		}
		return ToolChoice{Runs: r, Binary: p}, nil
	}
	if p, ok := built[named]; ok {
		return ToolChoice{Named: named, Runs: named, Binary: p}, nil
	}
	if _, err := parseRelease(named); err != nil {
		return ToolChoice{}, fmt.Errorf("%s: the profile's %w", program, err)
	}
	var have []string
	for r := range built {
		have = append(have, r)
	}
	why := named + " is not served"
	if isServed(named, served) {
		why = named + " is not built here (tools/build.sh builds the versions the built-in profiles name)"
	} else if target, err := NearestServed(named, served); err == nil {
		if _, ok := built[target]; !ok {
			why = fmt.Sprintf("%s is not served and its nearest served release %s is not built here", named, target)
		} else {
			return ToolChoice{Named: named, Runs: target, Binary: built[target], Why: why}, nil
		}
	}
	r, err := NearestServed(named, have)
	if err != nil {
		// A program whose stamp names no release (built by hand, or a test's stand-in) still runs as the pin.
		p, err := tool(tools, program)
		if err != nil {
			return ToolChoice{}, fmt.Errorf("%w: no %s is built in %s", ErrToolsMissing, program, tools)
		}
		return ToolChoice{Named: named, Runs: ToolVersion(tools, program), Binary: p, Why: why}, nil
	}
	return ToolChoice{Named: named, Runs: r, Binary: built[r], Why: why}, nil
}

func isServed(v string, served []string) bool {
	for _, s := range served {
		if s == v {
			return true
		}
	}
	return false
}
