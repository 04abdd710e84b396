package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/deviation"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/report"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// runConfig is the effective configuration of `run`, bound to the flags and printed (redacted) before anything
// runs.
type runConfig struct {
	TargetFile   string        `json:"target_file,omitempty"`
	Profiles     []string      `json:"profiles,omitempty"`
	Tier         string        `json:"tier"`
	Only         []string      `json:"only,omitempty"`
	Formats      []string      `json:"formats"`
	OutDir       string        `json:"out_dir,omitempty"`
	Expected     string        `json:"expected,omitempty"`
	Parallel     int           `json:"parallel"`
	CheckTimeout time.Duration `json:"check_timeout"`
	Progress     string        `json:"progress"`
}

var knownFormats = []string{"text", "md", "json", "junit"}

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	cfg := runConfig{}
	var profiles, only, formats string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the checks and print the matrix",
		Long: `Run the check catalogue and print the compatibility matrix.

With no --target, the embedded tier: an in-process stack per profile (default: every built-in profile).
With --target FILE, a live deployment described by a target file (see docs/target-file.md).

Exit codes: 0 nothing unexpected failed; 1 an unexpected failure (or an aborted run); 2 usage or
configuration error; 3 the target could not be reached at all.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Profiles = splitList(profiles)
			cfg.Only = splitList(only)
			cfg.Formats = splitList(formats)
			return runChecks(cmd.Context(), cfg, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.TargetFile, "target", "", "target file (YAML or JSON) describing a live deployment")
	f.StringVar(&profiles, "profile", "", "profiles to run, comma-separated (default: all built-in); with --target, the one profile to compare against")
	f.StringVar(&cfg.Tier, "tier", "embedded", "where the stack runs without --target: embedded")
	f.StringVar(&only, "only", "", "check IDs, families or globs to run, comma-separated (e.g. SETUP,DEX-LOCAL-00*)")
	f.StringVar(&formats, "format", "text", "report formats, comma-separated: "+strings.Join(knownFormats, ", "))
	f.StringVar(&cfg.OutDir, "out", "", "directory for report files (kfp-authcheck.<ext>); without it, text goes to stdout, json to stdout")
	f.StringVar(&cfg.Expected, "expected", "", "expected-deviation file: known failures, each with a reason")
	f.IntVar(&cfg.Parallel, "parallel", 4, "checks run at once per target")
	f.DurationVar(&cfg.CheckTimeout, "check-timeout", 2*time.Minute, "time limit of one check")
	f.StringVar(&cfg.Progress, "progress", "auto", "a line per finished check on stderr: auto (when stderr is a terminal), always, never")
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validate checks the flags before anything starts; every problem is a usage error (exit 2).
func (c *runConfig) validate() error {
	for _, f := range c.Formats {
		if !contains(knownFormats, f) {
			if f == "html" {
				return usageErr("--format html is not available yet; use %s", strings.Join(knownFormats, ", "))
			}
			return usageErr("--format %q: want some of %s", f, strings.Join(knownFormats, ", "))
		}
	}
	if len(c.Formats) == 0 {
		return usageErr("--format is empty")
	}
	if c.Tier != target.TierEmbedded {
		return usageErr("--tier %q: only embedded is available (the local and kind tiers are not built yet)", c.Tier)
	}
	if c.TargetFile != "" && len(c.Profiles) > 1 {
		return usageErr("with --target, --profile names the one profile to compare against")
	}
	for _, p := range c.Profiles {
		if p == "auto" && c.TargetFile != "" {
			continue
		}
		if _, err := profile.Get(p); err != nil {
			return usageErr("--profile: %v", err)
		}
	}
	if c.Parallel < 1 {
		return usageErr("--parallel must be at least 1")
	}
	if c.CheckTimeout <= 0 {
		return usageErr("--check-timeout must be positive")
	}
	switch c.Progress {
	case "auto", "always", "never":
	default:
		return usageErr("--progress %q: want auto, always or never", c.Progress)
	}
	if _, err := checks.Select(c.Only); err != nil {
		return usageErr("%v", err)
	}
	return nil
}

func runChecks(ctx context.Context, cfg runConfig, stdout, stderr io.Writer) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	list, _ := checks.Select(cfg.Only)
	var dev *deviation.File
	if cfg.Expected != "" {
		var err error
		if dev, err = deviation.Load(cfg.Expected); err != nil {
			return usageErr("%v", err)
		}
	}
	targets, cleanup, err := prepareTargets(ctx, &cfg, stderr)
	defer cleanup()
	if err != nil {
		return err
	}
	printEffectiveConfig(stderr, cfg, targets, len(list))

	progress := cfg.Progress == "always" || (cfg.Progress == "auto" && isTerminal(stderr))
	var printMu sync.Mutex
	runs := make([]*result.Run, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func(i int, t *target.Target) {
			defer wg.Done()
			label := t.ProfileName()
			if label == "" {
				label = t.Name
			}
			runs[i] = checks.Run(ctx, t, list, checks.Options{
				Parallel: cfg.Parallel, CheckTimeout: cfg.CheckTimeout, ToolVersion: version,
				OnResult: func(r result.Result) {
					if !progress {
						return
					}
					printMu.Lock()
					defer printMu.Unlock()
					fmt.Fprintf(stderr, "  %-13s %-14s %-5s %6dms %s\n", label, r.ID, r.Status, r.DurationMS, r.Reason)
				},
			})
			if dev != nil {
				dev.Apply(runs[i])
			}
		}(i, t)
	}
	wg.Wait()

	if err := writeOutputs(cfg, runs, stdout, stderr); err != nil {
		return err
	}
	unexpected, aborted := 0, false
	for _, r := range runs {
		unexpected += r.Unexpected()
		aborted = aborted || r.Aborted != ""
	}
	if unexpected > 0 || aborted {
		return &exitError{code: exitUnexpected, err: fmt.Errorf("%d unexpected failure(s)", unexpected)}
	}
	return nil
}

// prepareTargets starts an embedded stack per profile, or loads the target file. cleanup stops what started.
func prepareTargets(ctx context.Context, cfg *runConfig, stderr io.Writer) ([]*target.Target, func(), error) {
	if cfg.TargetFile != "" {
		tf, err := target.LoadFile(cfg.TargetFile)
		if err != nil {
			return nil, func() {}, usageErr("%v", err)
		}
		if len(cfg.Profiles) == 1 {
			tf.Profile = cfg.Profiles[0]
		}
		t, err := target.FromFile(tf, nil)
		if err != nil {
			return nil, func() {}, usageErr("target file %s: %v", cfg.TargetFile, err)
		}
		if err := preflight(ctx, t); err != nil {
			return nil, func() {}, &exitError{code: exitUnreachable, err: err}
		}
		return []*target.Target{t}, func() {}, nil
	}
	if len(cfg.Profiles) == 0 {
		cfg.Profiles = profile.Names()
	}
	stacks := make([]*embedded.Stack, len(cfg.Profiles))
	errs := make([]error, len(cfg.Profiles))
	var wg sync.WaitGroup
	for i, name := range cfg.Profiles {
		wg.Add(1)
		go func(i int, name string) {
			defer wg.Done()
			p, err := profile.Get(name)
			if err == nil {
				stacks[i], err = embedded.Start(ctx, p, embedded.Options{})
			}
			errs[i] = err
		}(i, name)
	}
	wg.Wait()
	cleanup := func() {
		for _, s := range stacks {
			if s != nil {
				if err := s.Close(); err != nil {
					fmt.Fprintln(stderr, "kfp-authcheck: stopping a stack:", err)
				}
			}
		}
	}
	var targets []*target.Target
	for i, s := range stacks {
		if errs[i] != nil {
			return nil, cleanup, fmt.Errorf("start the embedded %s stack: %w", cfg.Profiles[i], errs[i])
		}
		targets = append(targets, s.Target())
	}
	return targets, cleanup, nil
}

// preflight asks the gateway once; if nothing answers at all, the run would be all errors, so stop with exit 3.
func preflight(ctx context.Context, t *target.Target) error {
	ctx, cancel := context.WithTimeout(ctx, t.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.GatewayURL+"/", nil)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: t.TLS.Clone()},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("the gateway %s could not be reached (%s): %w", t.GatewayURL, browser.Classify(err), err)
	}
	resp.Body.Close()
	return nil
}

func printEffectiveConfig(w io.Writer, cfg runConfig, targets []*target.Target, nChecks int) {
	fmt.Fprintf(w, "kfp-authcheck %s: %d check(s) against %d target(s)\n", version, nChecks, len(targets))
	for _, t := range targets {
		users := make([]string, 0, len(t.Users))
		for _, u := range t.Users {
			users = append(users, fmt.Sprintf("%s (%s, password [REDACTED])", u.Email, u.Connector))
		}
		fmt.Fprintf(w, "  target %s: tier %s, profile %s, gateway %s, issuer %s\n", t.Name, t.Tier,
			orNone(t.ProfileName()), t.GatewayURL, t.IssuerURL)
		fmt.Fprintf(w, "    users: %s\n", orNone(strings.Join(users, ", ")))
		fmt.Fprintf(w, "    capabilities: %s\n", orNone(strings.Join(t.CapabilityList(), ", ")))
	}
	fmt.Fprintf(w, "  formats %s; out %s; parallel %d; check timeout %s; expected deviations %s\n",
		strings.Join(cfg.Formats, ","), orNone(cfg.OutDir), cfg.Parallel, cfg.CheckTimeout, orNone(cfg.Expected))
}

func writeOutputs(cfg runConfig, runs []*result.Run, stdout, stderr io.Writer) error {
	m := report.NewMatrix(runs...)
	if cfg.OutDir != "" {
		paths, err := report.WriteFiles(cfg.OutDir, "kfp-authcheck", cfg.Formats, runs...)
		if err != nil {
			return fmt.Errorf("write reports: %w", err)
		}
		for _, p := range paths {
			fmt.Fprintln(stderr, "wrote", p)
		}
	}
	if cfg.OutDir == "" && contains(cfg.Formats, "json") {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if len(runs) == 1 {
			return enc.Encode(runs[0])
		}
		return enc.Encode(runs)
	}
	if cfg.OutDir == "" && contains(cfg.Formats, "md") && !contains(cfg.Formats, "text") {
		return report.Markdown(stdout, m)
	}
	return report.Text(stdout, m)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
