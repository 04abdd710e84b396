// Package fidelity runs the same checks against the embedded stand-ins and the local tier's real programs for
// each profile, and lists the checks whose verdict or reason differs: each is a mock bug, or a limitation of a
// tier written down in docs/fidelity.md and in known.yaml here.
package fidelity

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/harness"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

//go:embed known.yaml
var knownYAML []byte

// Known is a difference between the tiers that is understood: a limitation of one tier, with the reason.
type Known struct {
	Profile string `json:"profile"`
	ID      string `json:"id"`
	Reason  string `json:"reason"`
}

// KnownDifferences are the documented differences (known.yaml; docs/fidelity.md explains each).
func KnownDifferences() ([]Known, error) {
	var k struct {
		Known []Known `json:"known"`
	}
	if err := yaml.UnmarshalStrict(bytes.TrimSpace(knownYAML), &k); err != nil {
		return nil, fmt.Errorf("fidelity known.yaml: %w", err)
	}
	for _, e := range k.Known {
		if e.Profile == "" || e.ID == "" || e.Reason == "" {
			return nil, fmt.Errorf("fidelity known.yaml: every entry needs profile, id and reason (%+v)", e)
		}
	}
	return k.Known, nil
}

// Diff is one check whose verdict or reason differs between the tiers on one profile.
type Diff struct {
	Profile  string
	ID       string
	Embedded result.Result
	Local    result.Result
	// Known is the documented reason, where this difference is a known limitation.
	Known string
}

// Report is a comparison of the tiers.
type Report struct {
	Diffs []Diff
	// ActualDiffs have the same verdict and reason on both tiers but a different observed behaviour.
	ActualDiffs []Diff
	Runs        []*result.Run // embedded and local for each profile, in that order
	// Startup is how long each tier took to start, summed over profiles.
	Startup map[string]time.Duration
}

// Unexplained counts the differences with no documented reason.
func (r *Report) Unexplained() int {
	n := 0
	for _, d := range r.Diffs {
		if d.Known == "" {
			n++
		}
	}
	return n
}

// Options tune a comparison.
type Options struct {
	Parallel     int
	CheckTimeout time.Duration
	Progress     io.Writer
}

// Compare runs list against both tiers for each profile and returns the differences.
func Compare(ctx context.Context, profiles []string, list []*checks.Check, opts Options) (*Report, error) {
	known, err := KnownDifferences()
	if err != nil {
		return nil, err
	}
	rep := &Report{Startup: map[string]time.Duration{}}
	for _, name := range profiles {
		p, err := profile.Get(name)
		if err != nil {
			return nil, err
		}
		byTier := map[string]*result.Run{}
		for _, tier := range []string{target.TierEmbedded, target.TierLocal} {
			run, took, err := runTier(ctx, tier, p, list, opts)
			if err != nil {
				return nil, err
			}
			rep.Startup[tier] += took
			byTier[tier] = run
			rep.Runs = append(rep.Runs, run)
		}
		rep.Diffs = append(rep.Diffs, diff(name, byTier[target.TierEmbedded], byTier[target.TierLocal], known, &rep.ActualDiffs)...)
	}
	return rep, nil
}

func runTier(ctx context.Context, tier string, p *profile.Profile, list []*checks.Check, opts Options) (*result.Run, time.Duration, error) {
	session, err := harness.Prepare(ctx, harness.Config{Tier: tier, Profiles: []*profile.Profile{p}, Checks: list})
	defer session.Close()
	if err != nil {
		return nil, 0, err
	}
	took := session.StartupTime
	if opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "fidelity: %s on %s up in %s; running %d check(s)\n", p.Name, tier, took.Round(time.Millisecond), len(list))
	}
	run := session.Run(ctx, list, harness.RunOptions{Parallel: opts.Parallel, CheckTimeout: opts.CheckTimeout})[0]
	if run.Aborted != "" {
		return nil, 0, fmt.Errorf("%s on %s: %s", p.Name, tier, run.Aborted)
	}
	return run, took, nil
}

// diff lists the checks whose verdict or reason differs; same collects those with the same verdict whose
// observed behaviour (Actual) still differs, which the report shows without failing on.
func diff(profileName string, emb, loc *result.Run, known []Known, same *[]Diff) []Diff {
	byID := map[string]result.Result{}
	for _, r := range loc.Results {
		byID[r.ID] = r
	}
	var out []Diff
	for _, e := range emb.Results {
		l, ok := byID[e.ID]
		if !ok {
			continue
		}
		if e.Status == l.Status && e.Reason == l.Reason {
			if normalise(e.Actual) != normalise(l.Actual) {
				*same = append(*same, Diff{Profile: profileName, ID: e.ID, Embedded: e, Local: l})
			}
			continue
		}
		d := Diff{Profile: profileName, ID: e.ID, Embedded: e, Local: l}
		// A tier that lacks a capability reports n/a: that check is not compared there, which is no mock drift.
		for _, side := range []struct {
			tier string
			r    result.Result
		}{{target.TierEmbedded, e}, {target.TierLocal, l}} {
			if side.r.Status == result.NA && side.r.Reason == result.MissingCapability {
				d.Known = "not run on the " + side.tier + " tier: " + side.r.Message
			}
		}
		for _, k := range known {
			if k.Profile == profileName && strings.EqualFold(k.ID, e.ID) {
				d.Known = k.Reason
			}
		}
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Profile < out[j].Profile })
	return out
}

// WriteTable prints the differences as a Markdown table (an empty table says so).
func WriteTable(w io.Writer, r *Report) {
	fmt.Fprintln(w, "| profile | check | embedded | local | explained |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	if len(r.Diffs) == 0 {
		fmt.Fprintln(w, "| (none) | every check gives the same verdict and reason on both tiers | | | |")
		return
	}
	for _, d := range r.Diffs {
		known := "NO: fix the mock or document it in docs/fidelity.md"
		if d.Known != "" {
			known = d.Known
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", d.Profile, d.ID, verdict(d.Embedded), verdict(d.Local), known)
	}
}

// WriteActualDiffs prints the checks that agree on the verdict but observed something different.
func WriteActualDiffs(w io.Writer, r *Report) {
	if len(r.ActualDiffs) == 0 {
		return
	}
	fmt.Fprintln(w, "\nSame verdict, different observation (not a failure; worth a look):")
	for _, d := range r.ActualDiffs {
		fmt.Fprintf(w, "- %s %s\n  embedded: %s\n  local:    %s\n", d.Profile, d.ID, d.Embedded.Actual, d.Local.Actual)
	}
}

// perRequestCSRF is the per-request part of oauth2-proxy's CSRF cookie name (cookie_csrf_per_request): 8
// characters of a hashed random state, different on every login whatever the tier.
var perRequestCSRF = regexp.MustCompile(`_[A-Za-z0-9_-]{8}_csrf\b`)

var (
	loopbackPort = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	probeName    = regexp.MustCompile(`kfp-authcheck-probe-[A-Za-z0-9_-]+`)
	fixtureName  = regexp.MustCompile(`kfp-authcheck-[0-9a-f]{8}-s\d+-`)
)

// normalise removes what differs on every run (random names, the ports the kernel picked) from an observation
// before comparing.
func normalise(s string) string {
	s = perRequestCSRF.ReplaceAllString(s, "_<state>_csrf")
	s = loopbackPort.ReplaceAllString(s, "127.0.0.1:<port>")
	s = fixtureName.ReplaceAllString(s, "kfp-authcheck-<run>-s<n>-")
	return probeName.ReplaceAllString(s, "kfp-authcheck-probe-<random>")
}

func verdict(r result.Result) string {
	if r.Reason == "" {
		return string(r.Status)
	}
	return string(r.Status) + " " + string(r.Reason)
}
