// Package harness is the one orchestration of a run, shared by the kfp-authcheck command, the ginkgo suites and
// the fidelity comparison: a configuration in (a tier and server profiles, or a target file; the checks), a plan
// out (what would run and what would be n/a, decided by the same gate as the run), and runs out. The tiers plug
// in through package clusters; this file names each tier package once.
package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/clusters"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/forward"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/report/versions"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"

	// The tiers: adding one is a package that calls clusters.Register from its init, and a line here.
	_ "github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	_ "github.com/kfp-authcheck/kfp-authcheck/clusters/kind"
	_ "github.com/kfp-authcheck/kfp-authcheck/clusters/local"
)

// Config is what a run is asked to do.
type Config struct {
	// Tier starts a stack per profile (default embedded); with File the deployment is already running.
	Tier string
	// Profiles are the server profiles to start stacks of (default: every built-in one).
	Profiles []*profile.Profile
	// File is a live deployment's target file (its profile key already bound); FileName names it in messages.
	File     *target.File
	FileName string
	// FileProfile, where set, is the server profile a target file is compared against (a profile file given
	// with --profile), in place of its profile key.
	FileProfile *profile.Profile
	// Checks are the checks to run (default: the whole catalogue).
	Checks []*checks.Check
	// Listen and Settings go to the tier (clusters.Options).
	Listen   string
	Settings map[string]string
	// Progress gets the tiers' start-up lines; Log the harness's own (port-forwards, profile auto). nil: quiet.
	Progress io.Writer
	Log      io.Writer
}

// ConfigError is a configuration the user must fix: exit 2.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// UnreachableError says the target answered nothing at all: exit 3.
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string { return e.Err.Error() }
func (e *UnreachableError) Unwrap() error { return e.Err }

func configErr(format string, args ...any) error {
	return &ConfigError{Err: fmt.Errorf(format, args...)}
}

func (c *Config) defaults() error {
	if c.Tier == "" {
		c.Tier = target.TierEmbedded
	}
	if len(c.Checks) == 0 {
		c.Checks = checks.All()
	}
	if c.File == nil && len(c.Profiles) == 0 {
		for _, n := range profile.Names() {
			p, err := profile.Get(n)
			if err != nil {
				return err
			}
			c.Profiles = append(c.Profiles, p)
		}
	}
	return nil
}

// Validate checks the configuration before anything starts: the tier exists and accepts its options, and no
// setting of another tier is given.
func Validate(c Config) error {
	if err := c.defaults(); err != nil {
		return err
	}
	if c.File != nil {
		if c.Tier != target.TierEmbedded {
			return configErr("--tier starts a stack; with --target the deployment is already running (give one or the other)")
		}
		for name := range c.Settings {
			return configErr("--%s is a setting of a tier that starts a stack; with --target the deployment is already running", name)
		}
		return nil
	}
	tier, err := clusters.Get(c.Tier)
	if err != nil {
		return configErr("--tier: %v", err)
	}
	own := map[string]bool{}
	for _, s := range tier.Settings() {
		own[s.Name] = true
	}
	for _, name := range sortedKeys(c.Settings) {
		if !own[name] {
			return configErr("--%s is a setting of --tier %s, not of --tier %s", name, tierOf(name), c.Tier)
		}
	}
	if err := tier.Validate(c.options()); err != nil {
		return &ConfigError{Err: err}
	}
	return nil
}

// tierOf names the tiers that take setting name.
func tierOf(name string) string {
	var out []string
	for _, t := range clusters.All() {
		for _, s := range t.Settings() {
			if s.Name == name {
				out = append(out, t.Name())
			}
		}
	}
	return strings.Join(out, " or ")
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// options are the tier's options: the capabilities the run's checks need, together.
func (c Config) options() clusters.Options {
	seen := map[target.Capability]bool{}
	needs := []target.Capability{}
	for _, ch := range c.Checks {
		for _, n := range ch.Needs {
			if !seen[n] {
				seen[n] = true
				needs = append(needs, n)
			}
		}
	}
	return clusters.Options{Listen: c.Listen, Progress: c.Progress, Needs: needs, Settings: c.Settings}
}

// PlannedTarget is what a run would do with one target.
type PlannedTarget struct {
	Name     string           `json:"name"`
	Tier     string           `json:"tier"`
	Profile  string           `json:"profile"`
	Fixtures []string         `json:"fixtures"`
	Checks   []checks.Planned `json:"-"`
	// Target is the planned target (placeholder addresses), for tests and printing.
	Target *target.Target `json:"-"`
}

// Plan says, per target, what the run would set up and what each check would do, without starting a stack or
// sending a request: the tier describes the stack it would start, the one Target builder derives its
// capabilities, and the checks' own gate (checks.Plan, the run's) decides run or n/a.
func Plan(c Config) ([]PlannedTarget, error) {
	if err := Validate(c); err != nil {
		return nil, err
	}
	_ = c.defaults()
	if c.File != nil {
		t, err := target.New(c.File, target.Handles{Profile: c.FileProfile})
		if err != nil {
			return nil, configErr("target file %s: %v", c.FileName, err)
		}
		if svc := c.File.InClusterAPI; svc != nil && t.KubeErr == nil {
			// The run forwards before any check: plan with the address it will have.
			t.InClusterAPIURL = fmt.Sprintf("http://127.0.0.1:0 (port-forward to %s/%s:%d)", svc.Namespace, svc.Name, svc.Port)
			t.SetProfile(t.Profile)
		}
		return []PlannedTarget{planned(t, c.Checks, liveFixtures(t, c.File, c.Checks))}, nil
	}
	tier, _ := clusters.Get(c.Tier)
	var out []PlannedTarget
	for _, p := range c.Profiles {
		pl, err := tier.Plan(p, c.options())
		if err != nil {
			return nil, fmt.Errorf("plan the %s %s stack: %w", c.Tier, p.Name, err)
		}
		t, err := target.Planned(pl.Description, pl.Name, p, pl.Offers)
		if err != nil {
			return nil, fmt.Errorf("plan the %s %s stack: %w", c.Tier, p.Name, err)
		}
		out = append(out, planned(t, c.Checks, pl.Fixtures))
	}
	return out, nil
}

func planned(t *target.Target, list []*checks.Check, fixtures []string) PlannedTarget {
	pt := PlannedTarget{Name: t.Name, Tier: t.Tier, Profile: t.ProfileName(), Fixtures: fixtures, Target: t,
		Checks: checks.Plan(t, list)}
	if t.AutoProfile {
		pt.Profile = "auto (chosen at run time from the gateway's unauthenticated answers; n/a below assume no profile)"
	} else if pt.Profile == "" {
		pt.Profile = "none (behaviour is recorded, not compared)"
	}
	return pt
}

// StartOne starts the stack of c's one profile on c's tier, for `serve`: needs are the capabilities it should be
// ready for (nil: all of them). The caller closes the stack.
func StartOne(ctx context.Context, c Config, needs []target.Capability) (clusters.Stack, error) {
	if err := Validate(c); err != nil {
		return nil, err
	}
	if len(c.Profiles) != 1 {
		return nil, configErr("serve starts one profile's stack, not %d", len(c.Profiles))
	}
	tier, _ := clusters.Get(c.Tier)
	o := c.options()
	o.Needs = needs
	s, err := tier.Start(ctx, c.Profiles[0], o)
	if clusters.IsMissing(err) {
		return nil, &ConfigError{Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("start the %s %s stack: %w", c.Tier, c.Profiles[0].Name, err)
	}
	return s, nil
}

// Session is a prepared run: the targets, and for stacks the stacks behind them (parallel slices).
type Session struct {
	Targets []*target.Target
	// Stacks is nil for a target file.
	Stacks []clusters.Stack
	// ProfileChoice records what profile auto chose and why.
	ProfileChoice []string
	// StartupTime is how long the stacks took to come up.
	StartupTime time.Duration
	closers     []func()
	log         io.Writer
	// checkTimeout is the last Run's check timeout; Versions is bounded by it too.
	checkTimeout time.Duration
}

// Prepare starts a stack per profile on the tier, in parallel, or loads the target file (checking that the
// gateway answers, forwarding to the in-cluster API where the file asks, choosing the profile for auto). Close
// stops what started, also after an error.
func Prepare(ctx context.Context, c Config) (*Session, error) {
	s := &Session{log: c.Log}
	if err := Validate(c); err != nil {
		return s, err
	}
	_ = c.defaults()
	if c.File != nil {
		return s, s.prepareFile(ctx, c)
	}
	tier, _ := clusters.Get(c.Tier)
	begin := time.Now()
	stacks := make([]clusters.Stack, len(c.Profiles))
	errs := make([]error, len(c.Profiles))
	opts := c.options()
	if opts.Progress != nil {
		opts.Progress = &lockedWriter{w: opts.Progress}
	}
	var wg sync.WaitGroup
	for i, p := range c.Profiles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stacks[i], errs[i] = tier.Start(ctx, p, opts)
		}()
	}
	wg.Wait()
	s.closers = append(s.closers, func() { closeStacks(stacks, c.Log) })
	s.StartupTime = time.Since(begin)
	for i, st := range stacks {
		if errs[i] != nil {
			if clusters.IsMissing(errs[i]) {
				return s, &ConfigError{Err: fmt.Errorf("start the %s %s stack: %w", c.Tier, c.Profiles[i].Name, errs[i])}
			}
			return s, fmt.Errorf("start the %s %s stack: %w", c.Tier, c.Profiles[i].Name, errs[i])
		}
		t, err := clusters.TargetOf(st)
		if err != nil {
			return s, fmt.Errorf("the %s %s stack's target: %w", c.Tier, c.Profiles[i].Name, err)
		}
		s.Targets = append(s.Targets, t)
	}
	s.Stacks = stacks
	return s, nil
}

func (s *Session) prepareFile(ctx context.Context, c Config) error {
	t, err := target.New(c.File, target.Handles{Profile: c.FileProfile})
	if err != nil {
		return configErr("target file %s: %v", c.FileName, err)
	}
	for _, w := range t.Warnings {
		s.logf("warning: %s", w)
	}
	if err := askGatewayFirst(ctx, t); err != nil {
		return err
	}
	if svc := c.File.InClusterAPI; svc != nil {
		s.closers = append(s.closers, forwardInCluster(ctx, t, svc, s.logf))
	}
	if t.AutoProfile {
		d, err := checks.DetectProfile(ctx, t)
		if err != nil {
			return &UnreachableError{Err: err}
		}
		s.logf("%s", d.Describe())
		s.ProfileChoice = append(s.ProfileChoice, d.Describe())
		t.SetProfile(d.Chosen)
	}
	// Last, once the in-cluster address and the profile are known (they decide which checks run), and before
	// any check creates anything: the permissions those checks use.
	if err := checkPermissionsFirst(ctx, t, c.Checks, c.File.InClusterAPI != nil, s.logf); err != nil {
		return err
	}
	s.Targets = []*target.Target{t}
	return nil
}

func (s *Session) logf(format string, args ...any) {
	if s.log != nil {
		fmt.Fprintf(s.log, "kfp-authcheck: "+format+"\n", args...)
	}
}

// Close stops what Prepare started: the stacks in parallel (each waits for its servers' grace and programs'
// exits, or a kind cluster's deletion, which add up one after another), the port-forward.
func (s *Session) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

func closeStacks(stacks []clusters.Stack, log io.Writer) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, st := range stacks {
		if st == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := st.Close(); err != nil && log != nil {
				mu.Lock()
				fmt.Fprintln(log, "kfp-authcheck: stopping a stack:", err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// RunOptions tune Run.
type RunOptions struct {
	Parallel     int
	CheckTimeout time.Duration
	ToolVersion  string
	// OnResult is called as each check of target i completes, one call at a time.
	OnResult func(i int, r result.Result)
}

// Run runs the checks against every target in parallel and returns a run per target, the end of the programs'
// logs attached to every failed result where the stack keeps logs.
func (s *Session) Run(ctx context.Context, list []*checks.Check, o RunOptions) []*result.Run {
	if len(list) == 0 {
		list = checks.All()
	}
	s.checkTimeout = o.CheckTimeout
	runs := make([]*result.Run, len(s.Targets))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, t := range s.Targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i] = checks.Run(ctx, t, list, checks.Options{Parallel: o.Parallel, CheckTimeout: o.CheckTimeout,
				ToolVersion: o.ToolVersion, OnResult: func(r result.Result) {
					if o.OnResult == nil {
						return
					}
					mu.Lock()
					defer mu.Unlock()
					o.OnResult(i, r)
				}})
			if s.Stacks != nil {
				attachLogs(runs[i], s.Stacks[i])
				expectAsShipped(runs[i], t.Profile)
			}
		}()
	}
	wg.Wait()
	return runs
}

// Versions collects the versions each target shows, in parallel.
func (s *Session) Versions(ctx context.Context) []versions.Seen {
	if s.checkTimeout > 0 {
		// Collecting versions is one more look at the target, bounded like a check.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.checkTimeout)
		defer cancel()
	}
	seen := make([]versions.Seen, len(s.Targets))
	var wg sync.WaitGroup
	for i, t := range s.Targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen[i] = versions.Collect(ctx, t)
		}()
	}
	wg.Wait()
	return seen
}

// Programs says what runs behind target i beyond the harness ("" for a target file).
func (s *Session) Programs(i int) string {
	if s.Stacks == nil {
		return ""
	}
	return clusters.Programs(s.Stacks[i])
}

// expectAsShipped marks, on a stack the harness started from a server profile, the failures the profile itself
// declares (expect.verdicts: the release as shipped fails the check, e.g. kubeflow-1.8's authservice_session
// without HttpOnly) as expected, the way an expected-deviation entry would: they stay failures in every report, and
// only a verdict other than the profile's counts against the exit code. Against a live deployment nothing is
// marked: there a failure is a finding about that deployment.
func expectAsShipped(run *result.Run, p *profile.Profile) {
	if p == nil {
		return
	}
	for i := range run.Results {
		r := &run.Results[i]
		want, ok := p.Expect.Verdicts[r.ID]
		if !ok || r.Deviation != "" || (r.Status != result.Fail && r.Status != result.Error) || string(r.Status) != want {
			continue
		}
		r.Deviation = fmt.Sprintf("server profile %s expects %s: the release as shipped gets it", p.Name, want)
	}
}

// attachLogs puts the end of the stack's program logs into every result that failed or errored, so a reader of
// the run sees what Dex or oauth2-proxy said.
func attachLogs(run *result.Run, s clusters.Stack) {
	l, ok := s.(clusters.Logged)
	if !ok {
		return
	}
	var tails string
	for i := range run.Results {
		r := &run.Results[i]
		if r.Status != result.Fail && r.Status != result.Error {
			continue
		}
		if tails == "" {
			tails = l.LogTails(2 << 10)
		}
		r.Logs = tails
	}
}

// forwardTimeout bounds the start of the port-forward to the in-cluster KFP API.
const forwardTimeout = 30 * time.Second

// forwardInCluster starts the port-forward to the file's in_cluster_api and points the target's in-cluster URL
// at it; a failure is kept in the target (the in-cluster checks become errors with its reason) and logged. It
// returns the function that stops the forward.
func forwardInCluster(ctx context.Context, t *target.Target, svc *target.ServiceRef, logf func(string, ...any)) func() {
	ref := forward.Service{Namespace: svc.Namespace, Name: svc.Name, Port: svc.Port}
	var f *forward.Forward
	err := t.KubeErr
	if err == nil {
		var rc *rest.Config
		if rc, err = target.KubeRESTConfig(t.Kubeconfig, t.Context, t.RequestTimeout); err == nil {
			f, err = forward.Start(ctx, rc, t.Kube, ref, forwardTimeout)
		}
	}
	if err != nil {
		t.InClusterErr = err
		logf("in_cluster_api %s: %v", ref, err)
		return func() {}
	}
	t.InClusterAPIURL = f.URL
	t.SetProfile(t.Profile) // the in-cluster capability follows the URL
	logf("in_cluster_api %s: forwarding %s to pod %s port %d", ref, f.URL, f.Backend.Pod, f.Backend.Port)
	return func() {
		if err := f.Close(); err != nil {
			logf("stopping the port-forward: %v", err)
		}
	}
}

// lockedWriter serialises progress lines from stacks starting in parallel.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// IsConfig reports whether err is the user's to fix (exit 2): a ConfigError or a tier's missing prerequisite.
func IsConfig(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce) || clusters.IsMissing(err)
}

// IsUnreachable reports whether err says the target answered nothing (exit 3).
func IsUnreachable(err error) bool {
	var ue *UnreachableError
	return errors.As(err, &ue)
}

// liveFixtures says what a run against a live deployment would do to it: today only logins and reads.
func liveFixtures(t *target.Target, f *target.File, list []*checks.Check) []string {
	var out []string
	if t.AutoProfile {
		out = append(out, "profile auto: two unauthenticated GETs to the pipeline URL before the checks")
	}
	switch {
	case t.NoGateway():
		out = append(out, "no gateway: nothing is sent to one and nobody logs in ("+target.NoGatewayReason+")")
	case len(t.Users) > 0:
		var who []string
		for _, u := range t.Users {
			who = append(who, fmt.Sprintf("%s (%s)", u.Email, u.Connector))
		}
		out = append(out, "Dex logins through the gateway as "+strings.Join(who, ", ")+"; experiments are only listed")
	default:
		out = append(out, "no users: only unauthenticated requests")
	}
	if t.Kube != nil {
		if needs, err := Permissions(t, list); err == nil && len(needs) > 0 {
			var ps []string
			for _, n := range needs {
				ps = append(ps, n.Permission.String())
			}
			out = append(out, fmt.Sprintf("before any check, %d SelfSubjectAccessReview(s) ask for the permissions the checks that run use "+
				"(a missing one stops the run, exit 2, before anything is created): %s", len(needs), strings.Join(ps, "; ")))
		}
	}
	if f.Kubeconfig != "" || f.Context != "" {
		out = append(out, "kubeconfig/context: given: the SA, RBAC and ISO checks create their own Profile namespaces, "+
			"ServiceAccounts and RoleBindings (named kfp-authcheck-<run id>-*, labelled "+fixtures.RunLabel+"=<run id>), "+
			"mint ServiceAccount tokens through TokenRequest, and delete every object they created when each check ends; "+
			"ISO-004, ISO-005 and ISO-006 also create KFP objects in those namespaces (an experiment, a private pipeline, a one-step "+
			"busybox run, which is terminated and deleted again; ISO-005's run names the namespace's default-viewer as its "+
			"serviceAccountName); the M2M checks send the tokens to the gateway; "+
			"ClusterRoles are only read (a missing kubeflow-edit, kubeflow-view or kubeflow-admin fails the checks that bind it; "+
			"the harness never creates or changes one); at the end (also after Ctrl-C) everything labelled with the run's ID is removed; "+
			"in the users' own profile namespaces SA-007 and SA-010 only read: SA-007 lists PodDefaults and creates three "+
			"pods as server-side dry runs (the API server admits them and persists nothing), SA-010 sends "+
			"SubjectAccessReviews")
	} else {
		out = append(out, "no Kubernetes object is created or changed (no kubeconfig: the SA, RBAC, M2M and ISO checks are n/a)")
	}
	if f.InClusterAPI != nil {
		out = append(out, fmt.Sprintf("in_cluster_api %s/%s:%d: a port-forward through the Kubernetes API from 127.0.0.1 "+
			"(a free port) to a ready pod behind the Service (its EndpointSlices, else its selector), open for the run and "+
			"closed at its end; the SA, RBAC and ISO checks send their ServiceAccount tokens through it",
			f.InClusterAPI.Namespace, f.InClusterAPI.Name, f.InClusterAPI.Port))
	}
	return out
}
