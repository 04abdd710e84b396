package kind_test

import (
	"context"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"
	"sigs.k8s.io/e2e-framework/pkg/types"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// familyFeatures are the catalogue as features: one per family, an assessment per check, labelled by family,
// check ID and tier like the ginkgo suites' specs.
func familyFeatures() []types.Feature {
	var order []string
	byFamily := map[string][]*checks.Check{}
	for _, c := range checks.All() {
		if _, ok := byFamily[c.Family]; !ok {
			order = append(order, c.Family)
		}
		byFamily[c.Family] = append(byFamily[c.Family], c)
	}
	var out []types.Feature
	for _, fam := range order {
		b := features.New(fam).WithLabel("family", fam).WithLabel("tier", "kind")
		for _, c := range byFamily[fam] {
			b = b.WithLabel("check", c.ID).Assess(c.ID+" "+c.Title, assessCheck(c))
		}
		out = append(out, b.Feature())
	}
	return out
}

// assessCheck runs one check and asserts the verdict its profile expects.
func assessCheck(c *checks.Check) features.Func {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		s := fromContext(ctx, t)
		res := checks.RunOne(ctx, s.env, c, 3*time.Minute)
		want := checks.ExpectedStatus(s.env.Target, c)
		if res.Status != want {
			t.Errorf("%s: %s (%s), want %s: %s", c.ID, res.Status, res.Reason, want, res.Message)
		} else {
			t.Logf("%s: %s %s", c.ID, res.Status, res.Message)
		}
		if res.Status == result.Fail || res.Status == result.Error {
			if res.Logs != "" {
				t.Log(res.Logs)
			}
		}
		return ctx
	}
}

func TestCatalogue(t *testing.T) {
	testenv.Test(t, familyFeatures()...)
}
