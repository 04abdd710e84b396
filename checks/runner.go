package checks

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/internal/timing"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// Options tune a run of the catalogue against one target.
type Options struct {
	// Parallel is how many checks run at once (default 4). Exclusive checks always run alone, last.
	Parallel int
	// CheckTimeout bounds each check (default 2 minutes); a check past it is an error with reason TIMEOUT.
	CheckTimeout time.Duration
	// OnResult is called as each check completes (progress lines); it may be called from several goroutines
	// one at a time.
	OnResult func(result.Result)
	// ToolVersion is recorded in the run.
	ToolVersion string
}

// Run executes checks against t and returns the run. Results come back in catalogue order whatever order the
// checks finished in. A cancelled context marks the run aborted and the checks not run as errors.
func Run(ctx context.Context, t *target.Target, list []*Check, opts Options) *result.Run {
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = 2 * time.Minute
	}
	run := &result.Run{ToolVersion: opts.ToolVersion, Target: t.Name, Profile: t.ProfileName(), Tier: t.Tier,
		Started: time.Now().UTC()}
	env := NewEnv(t)
	results := make([]result.Result, len(list))
	var mu sync.Mutex
	report := func(i int, r result.Result) {
		mu.Lock()
		defer mu.Unlock()
		results[i] = r
		if opts.OnResult != nil {
			opts.OnResult(r)
		}
	}

	var shared, exclusive []int
	for i, c := range list {
		if c.Exclusive && t.Clock != nil {
			exclusive = append(exclusive, i)
		} else {
			shared = append(shared, i)
		}
	}
	// The long checks start first; the rest keep catalogue order.
	slices.SortStableFunc(shared, func(a, b int) int {
		switch {
		case list[a].Long == list[b].Long:
			return 0
		case list[a].Long:
			return -1
		}
		return 1
	})
	sem := make(chan struct{}, opts.Parallel)
	var wg sync.WaitGroup
	for _, i := range shared {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			report(i, runOne(ctx, env, list[i], opts.CheckTimeout))
		}(i)
	}
	wg.Wait()
	for _, i := range exclusive {
		report(i, runOne(ctx, env, list[i], opts.CheckTimeout))
	}
	run.Results = results
	// After an interrupt the checks cut off may still be creating: CloseFixtures stops that and sweeps the
	// run's label, on a deadline of its own.
	run.Fixtures = env.CloseFixtures()
	run.Finished = time.Now().UTC()
	if err := ctx.Err(); err != nil {
		run.Aborted = "interrupted before every check finished: " + err.Error()
	}
	return run
}

// runOne runs a check with its capability gate, a deadline, panic recovery and redaction.
func runOne(ctx context.Context, env *Env, c *Check, timeout time.Duration) (res result.Result) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			res = errorf(result.Internal, "check panicked: %v (a bug in kfp-authcheck; stack: %s)", p, firstFrames(debug.Stack()))
		}
		res.ID, res.Title, res.Family, res.Severity = c.ID, c.Title, c.Family, string(c.Severity)
		res.References = c.References
		res.DurationMS = time.Since(start).Milliseconds()
		env.Target.Redact(&res)
	}()
	if err := ctx.Err(); err != nil {
		return errorf(result.Interrupted, "not run: %v", err)
	}
	missing, inapplicable := env.gate(c)
	if len(missing) > 0 {
		if err := env.Target.InClusterErr; err != nil && slices.Contains(missing, target.CapInCluster) {
			// The target file asked for the in-cluster API and the port-forward failed: not a capability the
			// setup lacks, a run that could not do what it was told.
			return errorf(reasonOf(err), "the in-cluster KFP API could not be reached: %v", err)
		}
		return na(result.MissingCapability, "%s", env.naReason(missing))
	}
	if inapplicable != nil {
		return na(inapplicable.Reason, "%s", inapplicable.Message)
	}
	rec := &timing.Recorder{}
	cctx, cancel := context.WithTimeout(timing.With(ctx, rec), timeout)
	defer cancel()
	defer func() { res.Timing = rec.Timing() }()
	done := make(chan result.Result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- errorf(result.Internal, "check panicked: %v (a bug in kfp-authcheck; stack: %s)", p, firstFrames(debug.Stack()))
			}
		}()
		done <- c.Run(cctx, env)
	}()
	select {
	case r := <-done:
		return r
	case <-cctx.Done():
		if errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			return errorf(result.Timeout, "did not finish within %s", timeout)
		}
		return errorf(result.Interrupted, "interrupted: %v", ctx.Err())
	}
}

func firstFrames(stack []byte) string {
	const max = 600
	if len(stack) > max {
		return string(stack[:max]) + "..."
	}
	return string(stack)
}

// naReason explains an n/a in terms a reader of the matrix understands.
func (e *Env) naReason(missing []target.Capability) string {
	if missesGateway(e.Target, missing) {
		return fmt.Sprintf("%s (needs %v)", target.NoGatewayReason, missing)
	}
	name := e.Target.ProfileName()
	if name == "" {
		name = "this target"
	} else {
		name = "profile " + name
	}
	msg := fmt.Sprintf("%s does not offer %v", name, missing)
	if e.Target.KubeErr != nil && slices.Contains(missing, target.CapKube) {
		msg += fmt.Sprintf(" (the kubeconfig could not be used: %v)", e.Target.KubeErr)
	}
	return msg
}

// RunOne runs a single check the way Run does (capability gate, deadline, panic recovery, redaction); the ginkgo
// suites call it once per spec.
func RunOne(ctx context.Context, env *Env, c *Check, timeout time.Duration) result.Result {
	return runOne(ctx, env, c, timeout)
}

// ExpectedStatus is the status a conforming deployment of the target's profile gets for c: the profile's
// n/a where a capability is missing, else the profile's declared verdict, else pass.
func ExpectedStatus(t *target.Target, c *Check) result.Status {
	// A check the target cannot run is n/a whatever the profile expects of it where it can (ISO-004 is a warn
	// on the modelled KFP versions, n/a on the real KFP server of the local tier, which cannot create runs).
	if missing, na := NewEnv(t).gate(c); len(missing) > 0 || na != nil {
		return result.NA
	}
	if t.Profile != nil {
		if v, ok := t.Profile.Expect.Verdicts[c.ID]; ok {
			return result.Status(v)
		}
	}
	return result.Pass
}
