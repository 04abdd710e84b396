// Package framework turns catalogue checks into ginkgo specs: one Ordered container per profile that starts the
// stack once, one spec per check, labelled by family, check ID and tier, asserting the verdict a conforming
// deployment of that profile gets. Specs hold no flow logic; the checks do.
package framework

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/clusters"
	"github.com/kfp-authcheck/kfp-authcheck/harness"
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

// TargetFile is KFP_AUTHCHECK_TARGET: a target file (docs/target-file.md) describing a live deployment. When it is
// set the suites run against that deployment, through the harness as run --target does, instead of a stack per
// profile on a tier.
func TargetFile() string { return os.Getenv("KFP_AUTHCHECK_TARGET") }

// DescribeChecks registers, for every profile (or for the target file of KFP_AUTHCHECK_TARGET), a spec per check
// of the given families. It returns true so a suite can call it at package level: var _ =
// framework.DescribeChecks(...). A check that is n/a where n/a is what the target's description predicts is a
// skipped spec with its reason, never a pass.
func DescribeChecks(families ...string) bool {
	list := checksOf(families)
	if file := TargetFile(); file != "" {
		describeTarget(file, list)
		return true
	}
	tier := Tier()
	if tier == target.TierLive {
		It("needs a target file", Label("tier:"+target.TierLive), func() {
			Fail("KFP_AUTHCHECK_TIER=live: a live deployment is described by a target file: set KFP_AUTHCHECK_TARGET=FILE")
		})
		return true
	}
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
				env = sessionEnv(session)
			}, NodeTimeout(3*time.Minute))
			describeSpecs(list, func() *checks.Env { return env }, func() string { return logsOf(stack) })
		})
	}
	return true
}

func checksOf(families []string) []*checks.Check {
	var list []*checks.Check
	for _, c := range checks.All() {
		for _, f := range families {
			if c.Family == f {
				list = append(list, c)
			}
		}
	}
	return list
}

// describeTarget is DescribeChecks against a live deployment: the target file is loaded and prepared by the
// harness (the gateway's preflight, the in-cluster port-forward, profile auto), as run --target does.
func describeTarget(file string, list []*checks.Check) {
	tf, loadErr := target.LoadFile(file)
	profileLabel := "none"
	if loadErr == nil && tf.Profile != "" {
		profileLabel = labelSafe(strings.TrimSuffix(filepath.Base(tf.Profile), filepath.Ext(tf.Profile)))
	}
	Describe("target "+file, Ordered, Label("profile:"+profileLabel, "tier:"+target.TierLive), func() {
		var env *checks.Env
		BeforeAll(func(ctx SpecContext) {
			Expect(loadErr).NotTo(HaveOccurred(), "KFP_AUTHCHECK_TARGET=%s", file)
			hc := harness.Config{File: tf, FileName: file, Checks: list}
			if ext := strings.ToLower(filepath.Ext(tf.Profile)); ext == ".yaml" || ext == ".yml" || ext == ".json" {
				p, err := profile.Load(tf.Profile)
				Expect(err).NotTo(HaveOccurred(), "target file %s: profile", file)
				hc.FileProfile = p
			}
			session, err := harness.Prepare(ctx, hc)
			DeferCleanup(session.Close)
			if harness.IsUnreachable(err) {
				Fail(fmt.Sprintf("KFP_AUTHCHECK_TARGET=%s: the target cannot be reached (UNREACHABLE): %v", file, err))
			}
			Expect(err).NotTo(HaveOccurred(), "KFP_AUTHCHECK_TARGET=%s", file)
			env = sessionEnv(session)
		}, NodeTimeout(3*time.Minute))
		describeSpecs(list, func() *checks.Env { return env }, func() string { return "" })
	})
}

// sessionEnv is the checks' environment for the session's one target; its fixture session ends with the suite,
// as checks.Run ends it with a run (before the stack stops: DeferCleanup runs last-in first-out).
func sessionEnv(session *harness.Session) *checks.Env {
	env := checks.NewEnv(session.Targets[0])
	DeferCleanup(func() {
		if fc := env.CloseFixtures(); fc != nil && fc.Error != "" {
			Fail("the suite's Kubernetes fixtures could not all be removed: " + fc.Error)
		}
	})
	return env
}

// describeSpecs registers a spec per check: the verdict must be the one a conforming deployment of the target's
// profile gets; where that is n/a and the check says n/a, the spec is skipped with the check's reason.
func describeSpecs(list []*checks.Check, env func() *checks.Env, logs func() string) {
	for _, c := range list {
		c := c
		It(fmt.Sprintf("%s %s", c.ID, c.Title), Label(c.Family, c.ID), func(ctx SpecContext) {
			e := env()
			res := checks.RunOne(ctx, e, c, time.Minute)
			want := checks.ExpectedStatus(e.Target, c)
			if want == result.NA && res.Status == result.NA {
				Skip(skipReason(res))
			}
			Expect(res.Status).To(Equal(want), func() string { return describe(res) + logs() })
		}, NodeTimeout(2*time.Minute))
	}
}

// skipReason is an n/a result as the skip message: "n/a MISSING_CAPABILITY: the target has no Dex users".
func skipReason(r result.Result) string {
	s := "n/a"
	if r.Reason != "" {
		s += " " + string(r.Reason)
	}
	if r.Message != "" {
		s += ": " + r.Message
	}
	return s
}

// labelSafe maps a name to what a ginkgo label may hold (no &|!,()/ and no leading colon).
func labelSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune("&|!,()/: ", r) {
			return '-'
		}
		return r
	}, s)
	if s == "" {
		return "none"
	}
	return s
}

// SuiteLabels are every label DescribeChecks gives the specs of the families: the families, their check IDs, every
// built-in profile and every tier (live: KFP_AUTHCHECK_TARGET). The generated labels_gen_test.go of each suite
// lists them where `ginkgo labels` can read them (it reads Label calls in the source, not the running tree).
func SuiteLabels(families ...string) []string {
	out := append([]string{}, families...)
	for _, c := range checksOf(families) {
		out = append(out, c.ID)
	}
	for _, p := range profile.Names() {
		out = append(out, "profile:"+p)
	}
	for _, t := range []string{target.TierEmbedded, target.TierLocal, target.TierKind, target.TierLive} {
		out = append(out, "tier:"+t)
	}
	return out
}

// LabelsFile is the generated labels_gen_test.go of a suite package (suites' TestSuiteLabelsAreGenerated keeps
// it up to date; go test ./suites -run TestSuiteLabelsAreGenerated -update rewrites it).
func LabelsFile(pkg string, families ...string) string {
	var b strings.Builder
	b.WriteString("// Code generated by go test ./suites -run TestSuiteLabelsAreGenerated -update; DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "package %s\n\n", pkg)
	b.WriteString("import . \"github.com/onsi/ginkgo/v2\"\n\n")
	b.WriteString("// suiteLabels lists the labels framework.DescribeChecks gives this suite's specs, for `ginkgo labels`.\n")
	b.WriteString("var suiteLabels = Label(\n")
	for _, l := range SuiteLabels(families...) {
		fmt.Fprintf(&b, "\t%q,\n", l)
	}
	b.WriteString(")\n")
	return b.String()
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
