// Package framework turns catalogue checks into ginkgo specs: one Ordered container per profile that starts the
// stack once, one spec per check, labelled by family, check ID and tier, asserting the verdict a conforming
// deployment of that profile gets. Specs hold no flow logic; the checks do.
package framework

import (
	"fmt"
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/clusters"
	"github.com/kfp-authcheck/kfp-authcheck/internal/harness"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// Tier is the tier the suites run against: KFP_AUTHCHECK_TIER, default embedded.
func Tier() string {
	if t := os.Getenv("KFP_AUTHCHECK_TIER"); t != "" {
		return t
	}
	return target.TierEmbedded
}

// Profiles are the profiles the suites run: KFP_AUTHCHECK_PROFILES (comma-separated), default all built-in.
func Profiles() []string {
	if p := os.Getenv("KFP_AUTHCHECK_PROFILES"); p != "" {
		return strings.Split(p, ",")
	}
	return profile.Names()
}

// DescribeChecks registers, for every profile, a spec per check of the given families. It returns true so a
// suite can call it at package level: var _ = framework.DescribeChecks(...).
func DescribeChecks(families ...string) bool {
	var list []*checks.Check
	for _, c := range checks.All() {
		for _, f := range families {
			if c.Family == f {
				list = append(list, c)
			}
		}
	}
	tier := Tier()
	for _, name := range Profiles() {
		name := name
		Describe("profile "+name, Ordered, Label("profile:"+name, "tier:"+tier), func() {
			var env *checks.Env
			var stack clusters.Stack
			BeforeAll(func(ctx SpecContext) {
				p, err := profile.Get(name)
				Expect(err).NotTo(HaveOccurred())
				session, err := harness.Prepare(ctx, harness.Config{Tier: tier, Profiles: []*profile.Profile{p}, Checks: list})
				DeferCleanup(session.Close)
				Expect(err).NotTo(HaveOccurred(), "start the %s %s stack", tier, name)
				stack = session.Stacks[0]
				env = checks.NewEnv(session.Targets[0])
				// the run's fixture session ends with the suite, as checks.Run ends it with a run (before the
				// stack stops: DeferCleanup runs last-in first-out)
				DeferCleanup(func() {
					if fc := env.CloseFixtures(); fc != nil && fc.Error != "" {
						Fail("the suite's Kubernetes fixtures could not all be removed: " + fc.Error)
					}
				})
			}, NodeTimeout(3*time.Minute))
			for _, c := range list {
				c := c
				It(fmt.Sprintf("%s %s", c.ID, c.Title), Label(c.Family, c.ID), func(ctx SpecContext) {
					res := checks.RunOne(ctx, env, c, time.Minute)
					want := checks.ExpectedStatus(env.Target, c)
					Expect(res.Status).To(Equal(want), func() string { return describe(res) + logsOf(stack) })
				}, NodeTimeout(2*time.Minute))
			}
		})
	}
	return true
}

// describe renders a result for a failure message: what a reader needs to see why the verdict differs.
func describe(r result.Result) string {
	return fmt.Sprintf("%s %s: %s (reason %s)\n  expected: %s\n  actual:   %s", r.ID, r.Status, r.Message,
		r.Reason, r.Expected, r.Actual)
}

// logsOf is the end of each real program's log, for a spec that failed on the local tier.
func logsOf(s clusters.Stack) string {
	if l, ok := s.(clusters.Logged); ok {
		return "\n" + l.LogTails(2<<10)
	}
	return ""
}
