package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/harness"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/profile/importer"
	"github.com/kfp-authcheck/kfp-authcheck/report"
	"github.com/kfp-authcheck/kfp-authcheck/report/deviation"
	"github.com/kfp-authcheck/kfp-authcheck/report/versions"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// runConfig is the effective configuration of `run`: one struct bound to the flags and, with --target, to the
// target file (Hydrophone's model: the file gives profile, checks and expected; a flag given on the command line
// overrides it). It is printed (secrets redacted) before anything runs, by --dry-run, and into the archive.
type runConfig struct {
	TargetFile string   `json:"target_file,omitempty"`
	Profiles   []string `json:"profiles,omitempty"`
	Tier       string   `json:"tier"`
	// Settings are the tier's own settings as given (--kfp, --keep, --kind-image: clusters.Tier.Settings).
	Settings     map[string]string `json:"settings,omitempty"`
	Only         []string          `json:"only,omitempty"`
	Formats      []string          `json:"formats"`
	OutDir       string            `json:"out_dir,omitempty"`
	Expected     string            `json:"expected,omitempty"`
	Parallel     int               `json:"parallel"`
	CheckTimeout time.Duration     `json:"-"`
	// CheckTimeoutText is CheckTimeout as people write it ("2m0s"), for printing.
	CheckTimeoutText string `json:"check_timeout"`
	Progress         string `json:"progress"`
	DryRun           bool   `json:"dry_run,omitempty"`
	Archive          string `json:"archive,omitempty"`
	// Sources says where profile, only and expected came from: "flag", "target file" or "default".
	Sources map[string]string `json:"sources,omitempty"`
	// Target is the target file as loaded, inline passwords redacted (see printable).
	Target *target.File `json:"target,omitempty"`
	// ProfileChoice records what profile auto chose and why, once it has.
	ProfileChoice []string `json:"profile_choice,omitempty"`

	// Manifests are rendered manifests imported into the one profile of the run (--manifests).
	Manifests string `json:"manifests,omitempty"`

	// Kube is run --kubeconfig: the Kubernetes-side checks against a cluster, without a target file (runkube.go).
	Kube kubeRun `json:"kubeconfig_run,omitempty"`

	// profiles are the server profiles resolved from Profiles (built-in names or profile files).
	profiles []*profile.Profile
	// stamp are --label and --fail-on (runstamp.go).
	stamp stampFlags
	// imported is the profile --manifests imported, run after any --profile ones.
	imported *profile.Profile
}

// printable is the configuration with every secret redacted: what --dry-run prints and the archive holds.
func (c runConfig) printable() runConfig {
	c.CheckTimeoutText = c.CheckTimeout.String()
	if c.Target != nil {
		c.Target = c.Target.Redacted()
	}
	return c
}

var knownFormats = []string{"text", "md", "json", "junit", "html"}

// stdoutFormats can go to stdout without --out; junit and html are files for other programs and need --out.
var stdoutFormats = []string{"text", "md", "json"}

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	cfg := runConfig{}
	var profiles, only, formats string
	var settings *tierFlags
	var stamp stampFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the checks and print the matrix",
		Long: `Run the check catalogue and print the compatibility matrix.

With no --target, a stack per profile (default: every built-in profile) on the --tier: embedded (in-process
stand-ins, the default) or local (the real Dex and oauth2-proxy on loopback, built by make tools).
With --target FILE, a live deployment described by a target file (see docs/target-file.md).
With --kubeconfig FILE [--context NAME] and no target file, the Kubernetes-side checks (SA, RBAC, ISO) against
that cluster, compared with --profile (default kubeflow); there is no gateway, so the login families are n/a.
The KFP API is reached through a port-forward to --in-cluster-api (default kubeflow/ml-pipeline:8888, the KFP
API Service of every built-in profile), or at --in-cluster-api-url. --profile-namespace NS=OWNER names the
Profiles the checks of users' namespaces use (SA-007, SA-010, ISO-001; n/a without one).

Before a live run with a kubeconfig, SelfSubjectAccessReviews ask for every permission the selected checks use;
if any is missing the run stops before creating anything, naming each permission and the checks that need it
(MISSING_PERMISSIONS, exit 2).

Exit codes: 0 nothing unexpected failed; 1 an unexpected failure (or an aborted run); 2 usage or
configuration error; 3 the target could not be reached at all.`,
		Example: `  # every built-in profile on the in-process stand-ins; the matrix on stdout
  kfp-authcheck run

  # two profiles, the Dex login checks only, every report format into out/
  kfp-authcheck run --profile kubeflow,deploykf --only SETUP,DEX-LOCAL --format text,md,json,junit,html --out out

  # a live deployment described by a target file (docs/target-file.md), its known deviations excused
  kfp-authcheck run --target my-kubeflow.yaml --expected expected-deviations.yaml

  # the Kubernetes-side checks against the cluster of a kubeconfig (no gateway: the login checks are n/a)
  kfp-authcheck run --kubeconfig ~/.kube/config --context prod --profile kubeflow-1.10 --dry-run
  kfp-authcheck run --kubeconfig ~/.kube/config --context prod --profile-namespace kubeflow-user-example-com=user@example.com

  # the real Dex and oauth2-proxy on loopback (make tools builds them)
  kfp-authcheck run --tier local --profile deploykf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Profiles = splitList(profiles)
			cfg.Only = splitList(only)
			cfg.Formats = splitList(formats)
			cfg.Settings = settings.given(cmd.Flags().Changed)
			if err := cfg.bindFile(cmd.Flags().Changed); err != nil {
				return err
			}
			if err := cfg.bindKubeconfig(cmd.Flags().Changed); err != nil {
				return err
			}
			cfg.stamp = stamp
			if err := cfg.importManifests(cmd.Flags().Changed("profile"), cmd.InOrStdin(), stderr); err != nil {
				return err
			}
			return runChecks(cmd.Context(), cfg, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.TargetFile, "target", "", "target file (YAML or JSON) describing a live deployment")
	f.StringVar(&profiles, "profile", "", "server profiles to run, comma-separated: built-in names or profile files (*.yaml; default: all built-in); with --target, the one profile to compare against")
	f.StringVar(&cfg.Tier, "tier", "embedded", "where the stacks run without --target: "+tierHelp())
	settings = addTierFlags(f)
	addStampFlags(f, &stamp)
	addKubeRunFlags(f, &cfg.Kube)
	f.StringVar(&only, "only", "", "check IDs, families or globs to run, comma-separated (e.g. SETUP,DEX-LOCAL-00*)")
	f.StringVar(&formats, "format", "text", "report formats, comma-separated: "+strings.Join(knownFormats, ", "))
	f.StringVar(&cfg.OutDir, "out", "", "directory for report files (kfp-authcheck.<ext>); without it, text goes to stdout, json to stdout")
	f.StringVar(&cfg.Expected, "expected", "", "expected-deviation file: known failures, each with a reason")
	f.IntVar(&cfg.Parallel, "parallel", 4, "checks run at once per target")
	f.DurationVar(&cfg.CheckTimeout, "check-timeout", 2*time.Minute, "time limit of one check")
	f.StringVar(&cfg.Progress, "progress", "auto", "a [n/N] line per finished check, a heartbeat during long ones, and a summary on stderr: auto (when stderr is a terminal or under CI: CI, GITHUB_ACTIONS), always, never")
	f.BoolVar(&cfg.DryRun, "dry-run", false, "print the effective configuration (secrets redacted) and the plan, and touch nothing")
	f.StringVar(&cfg.Archive, "archive", "", "also write a results archive (tar.gz): run JSON, effective configuration, versions seen, reports")
	f.StringVar(&cfg.Manifests, "manifests", "", "rendered manifests of a release (a file, a directory of .yaml files, or - for stdin): imported as profile import does, then run as the one profile on the --tier (embedded or local)")
	profileFileAlias(cmd)
	registerRunCompletion(cmd)
	return cmd
}

// importManifests is run --manifests: what a distribution maintainer runs on a release candidate without a
// cluster. The rendered manifests are imported into a server profile (profile import's derivation: the release's
// own versions, gateway, mesh and ClusterRoles) and that profile is the run's only one. It needs a stack of its
// own (--tier embedded or local) and no --profile or --target; input the importer refuses exits 2 with its reason.
func (c *runConfig) importManifests(profileGiven bool, stdin io.Reader, stderr io.Writer) error {
	if c.Manifests == "" {
		return nil
	}
	switch {
	case c.TargetFile != "":
		return usageErr("--manifests runs a stack of the imported release: it takes no --target")
	case profileGiven:
		return usageErr("--manifests is the run's profile: give no --profile with it")
	case c.Tier != target.TierEmbedded && c.Tier != target.TierLocal:
		return usageErr("--manifests runs on --tier embedded or local, not %q", c.Tier)
	}
	b, src, err := importer.ReadInput(c.Manifests, stdin)
	if err != nil {
		return importErr(err)
	}
	res, err := importer.Import(b, importer.Options{Name: "imported", Description: "imported from " + src})
	if err != nil {
		return importErr(err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if res.Profile.Dex == nil && res.Profile.Gateway == nil {
		return usageErr("--manifests %s: neither Dex nor a gateway found: nothing to run", src)
	}
	if err := res.Profile.Validate(); err != nil {
		return usageErr("--manifests %s: the imported profile cannot run: %v", src, err)
	}
	roles := res.Profile.Roles
	if roles == "" {
		roles = "its own (in memory)"
	}
	fmt.Fprintf(stderr, "run --manifests: %d object(s) from %s imported in %s (%s; ClusterRoles: %s); %d field(s) derived, %d not derived\n",
		res.Objects, src, res.Elapsed.Round(10000), res.Profile.Description, roles, len(res.Fields), len(res.Underived))
	c.Profiles = nil
	c.imported = res.Profile
	c.Sources["profile"] = "--manifests " + src
	return nil
}

// bindFile loads the target file and binds its keys to the configuration: profile, checks (--only) and expected
// come from the file unless the flag was given. changed reports whether a flag was set on the command line.
func (c *runConfig) bindFile(changed func(string) bool) error {
	c.Sources = map[string]string{"profile": "default", "only": "default", "expected": "default"}
	for _, key := range []string{"profile", "only", "expected"} {
		if changed(key) {
			c.Sources[key] = "flag"
		}
	}
	if c.TargetFile == "" {
		return nil
	}
	tf, err := target.LoadFile(c.TargetFile)
	if err != nil {
		return usageErr("%v", err)
	}
	c.Target = tf
	if changed("profile") && len(c.Profiles) == 1 {
		tf.Profile = c.Profiles[0]
	} else if !changed("profile") && tf.Profile != "" {
		c.Profiles, c.Sources["profile"] = []string{tf.Profile}, "target file"
	}
	if !changed("only") && len(tf.Checks) > 0 {
		c.Only, c.Sources["only"] = tf.Checks, "target file"
	}
	if !changed("expected") && tf.Expected != "" {
		c.Expected, c.Sources["expected"] = tf.Expected, "target file"
	}
	return nil
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
			return usageErr("--format %q: want some of %s", f, strings.Join(knownFormats, ", "))
		}
	}
	if len(c.Formats) == 0 {
		return usageErr("--format is empty")
	}
	if c.OutDir == "" && !c.DryRun {
		if len(c.Formats) > 1 {
			return usageErr("--format %s: without --out only one format goes to stdout; give --out DIR for several", strings.Join(c.Formats, ","))
		}
		if !contains(stdoutFormats, c.Formats[0]) {
			return usageErr("--format %s writes a file: give --out DIR (stdout takes %s)", c.Formats[0], strings.Join(stdoutFormats, ", "))
		}
	}
	if c.DryRun && len(c.Formats) == 1 && !contains([]string{"text", "json"}, c.Formats[0]) {
		return usageErr("--dry-run prints text or json, not %s", c.Formats[0])
	}
	if c.TargetFile != "" && len(c.Profiles) > 1 {
		return usageErr("with --target, --profile names the one profile to compare against")
	}
	if c.Kube.Kubeconfig != "" && len(c.Profiles) > 1 {
		return usageErr("with --kubeconfig, --profile names the one profile to compare against")
	}
	c.profiles = nil
	for _, p := range c.Profiles {
		if p == target.ProfileAuto && c.TargetFile != "" {
			continue
		}
		if p == target.ProfileAuto && c.Kube.Kubeconfig != "" {
			return usageErr("--profile auto is chosen from a gateway's answers: with --kubeconfig name the profile")
		}
		prof, err := resolveProfile(p)
		if err != nil {
			if c.Sources["profile"] == "target file" {
				return usageErr("target file %s: profile: %v", c.TargetFile, err)
			}
			return usageErr("--profile: %v", err)
		}
		c.profiles = append(c.profiles, prof)
	}
	if err := c.stamp.validate(); err != nil {
		return err
	}
	if c.imported != nil {
		c.profiles = append(c.profiles, c.imported)
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
		return usageErr("%v", retiredOnly(c.Only, err))
	}
	if err := harness.Validate(c.harness(nil, nil)); err != nil {
		return usageErr("%v", err)
	}
	if err := checkOutputs(c.OutDir, c.Archive); err != nil {
		return usageErr("%v", err)
	}
	return nil
}

// harness is the run's configuration as the harness takes it.
func (c *runConfig) harness(list []*checks.Check, stderr io.Writer) harness.Config {
	hc := harness.Config{Tier: c.Tier, File: c.Target, FileName: c.TargetFile, Checks: list, Settings: c.Settings, Log: stderr}
	if c.Kube.Kubeconfig != "" {
		hc.FileName = "--kubeconfig " + c.Kube.Kubeconfig
	}
	if c.Target == nil {
		hc.Profiles = c.profiles
	} else if len(c.profiles) == 1 {
		hc.FileProfile = c.profiles[0]
	}
	if c.Progress != "never" {
		hc.Progress = stderr
	}
	return hc
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
	if cfg.DryRun {
		return dryRun(cfg, list, stdout)
	}
	wallStart := time.Now()
	hc := cfg.harness(list, stderr)
	if cfg.Tier == target.TierEmbedded {
		hc.Progress = nil
	}
	session, err := harness.Prepare(ctx, hc)
	defer session.Close()
	switch {
	case err != nil && ctx.Err() != nil:
		// Interrupted while the gateway was asked or the stacks started: an aborted run (exit 1), not an
		// unreachable target or a configuration error.
		fmt.Fprintf(stderr, "kfp-authcheck: interrupted before the checks ran (%v)\n", err)
		return &exitError{code: exitUnexpected, err: err}
	case harness.IsUnreachable(err):
		writeSetupFailure(cfg, cfg.stamp, err, stderr)
		return &exitError{code: exitUnreachable, err: err}
	case harness.IsConfig(err):
		return usageErr("%v", err)
	case err != nil:
		return err
	}
	cfg.ProfileChoice = session.ProfileChoice
	if cfg.Tier == target.TierLocal {
		fmt.Fprintf(stderr, "kfp-authcheck: local tier up in %s (%d stack(s))\n", session.StartupTime.Round(time.Millisecond), len(session.Targets))
	}
	targets := session.Targets
	printEffectiveConfig(stderr, cfg, session, len(list))

	progress := progressOn(cfg.Progress, stderr)
	var printMu sync.Mutex
	stopWatch := context.AfterFunc(ctx, func() {
		printMu.Lock()
		defer printMu.Unlock()
		fmt.Fprintln(stderr, "kfp-authcheck: interrupted: stopping the checks and removing their Kubernetes fixtures "+
			"(a second Ctrl-C quits at once; `kfp-authcheck cleanup` then removes what is left)")
	})
	defer stopWatch()
	labels := make([]string, len(targets))
	for i, t := range targets {
		if labels[i] = t.ProfileName(); labels[i] == "" {
			labels[i] = t.Name
		}
	}
	var pp *progressPrinter
	if progress {
		pp = newProgressPrinter(stderr, &printMu, len(list)*len(targets), labels, 5*time.Second)
	}
	runs := session.Run(ctx, list, harness.RunOptions{Parallel: cfg.Parallel, CheckTimeout: cfg.CheckTimeout, ToolVersion: version,
		OnResult: func(i int, r result.Result) {
			if pp != nil {
				pp.result(i, r)
			}
		}})
	if pp != nil {
		pp.close()
	}
	if dev != nil {
		for _, r := range runs {
			dev.Apply(r)
		}
	}
	for _, r := range runs {
		printFixtures(stderr, r)
	}
	seen := sessionStamp(ctx, cfg.stamp, session, runs)

	if err := writeOutputs(cfg, runs, stdout, stderr); err != nil {
		return err
	}
	if cfg.Archive != "" {
		if err := writeArchive(cfg, seen, runs); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "wrote", cfg.Archive)
	}
	if progress && summaryOnce(cfg.Formats, cfg.OutDir, stdout, stderr) {
		printSummary(stderr, runs, time.Since(wallStart))
	} else if progress {
		fmt.Fprintf(stderr, "kfp-authcheck: wall time %s\n", time.Since(wallStart).Round(time.Millisecond))
	}
	unexpected, aborted, leftovers := 0, false, false
	for _, r := range runs {
		unexpected += r.Unexpected()
		aborted = aborted || r.Aborted != ""
		leftovers = leftovers || (r.Fixtures != nil && r.Fixtures.Error != "")
	}

	if aborted {
		fmt.Fprintf(stderr, "kfp-authcheck: run aborted (%d unexpected failure(s) before it stopped)\n", unexpected)
	}
	// Objects left in someone's cluster fail the run whatever the checks said (printFixtures named them).
	if unexpected > 0 || aborted || leftovers {
		return &exitError{code: exitUnexpected, err: fmt.Errorf("%d unexpected failure(s)", unexpected)}
	}
	return nil
}

// printFixtures says what became of a run's Kubernetes fixtures, and how to remove what could not be.
func printFixtures(w io.Writer, r *result.Run) {
	fc := r.Fixtures
	if fc == nil {
		return
	}
	if fc.Error == "" {
		fmt.Fprintf(w, "kfp-authcheck: %s: fixtures of run %s removed (%d removed by the end-of-run sweep)\n",
			r.Target, fc.RunID, len(fc.Swept))
		return
	}
	fmt.Fprintf(w, "kfp-authcheck: %s: fixtures of run %s: %s\n", r.Target, fc.RunID, fc.Error)
	if len(fc.Left) > 0 {
		fmt.Fprintf(w, "  left: %s\n", strings.Join(fc.Left, ", "))
	}
	fmt.Fprintf(w, "  remove what is left with: kfp-authcheck cleanup --run %s (with --target or --kubeconfig)\n", fc.RunID)
}

// printSummary ends the progress lines: per run its verdict, counts per status and unexpected count, then the
// wall time of the whole command.
func printSummary(w io.Writer, runs []*result.Run, wall time.Duration) {
	m := report.NewMatrix(runs...)
	fmt.Fprintln(w, "summary:")
	for _, col := range m.Columns {
		fmt.Fprintf(w, "  %s: verdict %s; %s", col.Label, col.Verdict, col.Summary())
		if col.Aborted != "" {
			fmt.Fprintf(w, "; aborted")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  wall time %s\n", wall.Round(time.Millisecond))
}

// writeArchive collects the versions each target shows and writes the results archive.
func writeArchive(cfg runConfig, seen []versions.Seen, runs []*result.Run) error {
	if err := report.WriteArchive(cfg.Archive, report.Archive{Runs: runs, Config: cfg.printable(), Versions: seen}); err != nil {
		return fmt.Errorf("--archive: %w", err)
	}
	return nil
}

func printEffectiveConfig(w io.Writer, cfg runConfig, session *harness.Session, nChecks int) {
	fmt.Fprintf(w, "kfp-authcheck %s: %d check(s) against %d target(s)\n", version, nChecks, len(session.Targets))
	for i, t := range session.Targets {
		users := make([]string, 0, len(t.Users))
		for _, u := range t.Users {
			users = append(users, fmt.Sprintf("%s (%s, password [REDACTED])", u.Email, u.Connector))
		}
		fmt.Fprintf(w, "  target %s: tier %s, profile %s, gateway %s, issuer %s\n", t.Name, t.Tier,
			orNone(t.ProfileName()), orNone(t.GatewayURL), orNone(t.IssuerURL))
		fmt.Fprintf(w, "    users: %s\n", orNone(strings.Join(users, ", ")))
		fmt.Fprintf(w, "    capabilities: %s\n", orNone(strings.Join(t.CapabilityList(), ", ")))
		if session.Stacks != nil {
			fmt.Fprintf(w, "    programs: %s\n", orNone(session.Programs(i)))
		}
	}
	fmt.Fprintf(w, "  formats %s; out %s; parallel %d; check timeout %s; expected deviations %s\n",
		strings.Join(cfg.Formats, ","), orNone(cfg.OutDir), cfg.Parallel, cfg.CheckTimeout, orNone(cfg.Expected))
}

// writeOutputs writes the report files (with --out; the text matrix then goes to stdout for the person at the
// terminal), or the one format to stdout.
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
		return report.TextWith(stdout, m, textOptions(stdout, cfg.stamp.Wide))
	}
	switch cfg.Formats[0] {
	case "json":
		if len(runs) == 1 {
			return report.WriteJSON(stdout, runs[0])
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(runs)
	case "md":
		return report.Markdown(stdout, m)
	}
	return report.TextWith(stdout, m, textOptions(stdout, cfg.stamp.Wide))
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
