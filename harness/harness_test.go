package harness_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/clusters"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/local"
	"github.com/kfp-authcheck/kfp-authcheck/harness"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

var update = flag.Bool("update", false, "rewrite testdata/matrix-embedded.json from this build's matrix")

func builtin(t *testing.T, name string) *profile.Profile {
	t.Helper()
	p, err := profile.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tiersHere are the tiers that can start a stack on this machine: embedded always, local where make tools has
// built its programs (KFP_AUTHCHECK_REQUIRE_TOOLS=1, as make e2e-local sets, makes their absence a failure).
func tiersHere(t *testing.T) []string {
	tiers := []string{target.TierEmbedded}
	if _, err := local.ToolsDir(); err == nil {
		tiers = append(tiers, target.TierLocal)
	} else if os.Getenv("KFP_AUTHCHECK_REQUIRE_TOOLS") == "1" {
		t.Fatalf("the local tier's programs: %v", err)
	} else {
		t.Logf("local tier not planned against its run: %v", err)
	}
	return tiers
}

// TestPlanIsTheRun holds --dry-run to the run, for every tier that can start here and every built-in profile: the
// planned target has the started target's name and capabilities, and every check the plan marks n/a is n/a in
// the run with the same reason and message, every other one runs. On the embedded tier the whole catalogue runs;
// on the local tier the started target's gate is compared (its full runs are make e2e-local's).
func TestPlanIsTheRun(t *testing.T) {
	for _, tier := range tiersHere(t) {
		for _, name := range profile.Names() {
			t.Run(tier+"/"+name, func(t *testing.T) {
				if tier == target.TierLocal {
					t.Parallel()
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				cfg := harness.Config{Tier: tier, Profiles: []*profile.Profile{builtin(t, name)}}
				plan, err := harness.Plan(cfg)
				if err != nil {
					t.Fatal(err)
				}
				s, err := harness.Prepare(ctx, cfg)
				defer s.Close()
				if err != nil {
					t.Fatal(err)
				}
				pt, got := plan[0], s.Targets[0]
				if pt.Name != got.Name || pt.Tier != got.Tier {
					t.Errorf("planned target %s on %s, started %s on %s", pt.Name, pt.Tier, got.Name, got.Tier)
				}
				if want, have := strings.Join(pt.Target.CapabilityList(), ","), strings.Join(got.CapabilityList(), ","); want != have {
					t.Errorf("capabilities: planned %s, started %s", want, have)
				}
				if tier == target.TierLocal {
					comparePlans(t, pt.Checks, checks.Plan(got, checks.All()))
					return
				}
				run := s.Run(ctx, nil, harness.RunOptions{})[0]
				for i, c := range pt.Checks {
					r := run.Results[i]
					switch {
					case r.ID != c.Check.ID:
						t.Fatalf("result %d is %s, planned %s", i, r.ID, c.Check.ID)
					case !c.Runs && (r.Status != result.NA || r.Reason != c.Reason || r.Message != c.Why):
						t.Errorf("%s: planned n/a (%s: %s), ran %s (%s: %s)", c.Check.ID, c.Reason, c.Why, r.Status, r.Reason, r.Message)
					case c.Runs && r.Status == result.NA:
						t.Errorf("%s: planned to run, was n/a (%s: %s)", c.Check.ID, r.Reason, r.Message)
					case c.Runs && c.Expected != string(r.Status):
						t.Errorf("%s: planned to expect %s, got %s (%s)", c.Check.ID, c.Expected, r.Status, r.Message)
					}
				}
			})
		}
	}
}

func comparePlans(t *testing.T, planned, started []checks.Planned) {
	t.Helper()
	for i, p := range planned {
		s := started[i]
		if p.Runs != s.Runs || p.Reason != s.Reason || p.Why != s.Why || p.Expected != s.Expected {
			t.Errorf("%s: planned runs=%t %s %q expect %s; the started target's gate: runs=%t %s %q expect %s", p.Check.ID,
				p.Runs, p.Reason, p.Why, p.Expected, s.Runs, s.Reason, s.Why, s.Expected)
		}
	}
}

// TestEmbeddedMatrixUnchanged holds every profile's embedded matrix (status and reason of every check) to
// testdata/matrix-embedded.json, recorded before the harness was reorganised: a change of verdict must be
// deliberate (go test -run TestEmbeddedMatrixUnchanged ./harness -update, and say why in the commit).
func TestEmbeddedMatrixUnchanged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := harness.Prepare(ctx, harness.Config{Tier: target.TierEmbedded})
	defer s.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]string{}
	for _, run := range s.Run(ctx, nil, harness.RunOptions{}) {
		m := map[string]string{}
		for _, r := range run.Results {
			v := string(r.Status)
			if r.Reason != "" {
				v += " " + string(r.Reason)
			}
			m[r.ID] = v
		}
		got[run.Profile] = m
	}
	const golden = "testdata/matrix-embedded.json"
	if *update {
		b, _ := json.MarshalIndent(got, "", " ")
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]map[string]string
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for prof, checks := range want {
		for id, w := range checks {
			if g := got[prof][id]; g != w {
				t.Errorf("%s %s: %q, recorded %q", prof, id, g, w)
			}
		}
		for id := range got[prof] {
			if _, ok := checks[id]; !ok {
				t.Errorf("%s %s: a check the recording does not have (-update once it is deliberate)", prof, id)
			}
		}
	}
}

// A setting of another tier, a target file with a tier, an unknown tier: configuration errors, before anything
// starts.
func TestValidateRefusesWhatDoesNotApply(t *testing.T) {
	kf := builtin(t, "kubeflow")
	for _, tc := range []struct {
		name string
		cfg  harness.Config
		want string
	}{
		{"kind's setting on embedded", harness.Config{Tier: "embedded", Profiles: []*profile.Profile{kf}, Settings: map[string]string{"kind-image": "x.tar"}}, "--kind-image is a setting of --tier kind"},
		{"local's setting on kind", harness.Config{Tier: "kind", Profiles: []*profile.Profile{kf}, Settings: map[string]string{"kfp": "real"}}, "--kfp is a setting of --tier local"},
		{"a bad value", harness.Config{Tier: "local", Profiles: []*profile.Profile{kf}, Settings: map[string]string{"kfp": "nope"}}, "--kfp nope"},
		{"unknown tier", harness.Config{Tier: "moon", Profiles: []*profile.Profile{kf}}, `tier "moon"`},
		{"target file and tier", harness.Config{Tier: "local", File: &target.File{GatewayURL: "http://127.0.0.1:1"}}, "give one or the other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := harness.Validate(tc.cfg)
			if err == nil || !harness.IsConfig(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a configuration error naming %q", err, tc.want)
			}
		})
	}
}

// A tier whose programs are not built says so as a missing prerequisite (exit 2 in the command), through the
// one error type every tier uses.
func TestMissingPrerequisiteIsConfiguration(t *testing.T) {
	t.Setenv(local.ToolsEnv, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := harness.Prepare(ctx, harness.Config{Tier: target.TierLocal, Profiles: []*profile.Profile{builtin(t, "kubeflow")}})
	defer s.Close()
	var missing *clusters.MissingError
	if !errors.As(err, &missing) || !harness.IsConfig(err) || missing.Tier != target.TierLocal || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("got %v, want the local tier's MissingError", err)
	}
}

// Every tier registered, each with its name, a summary and documented settings.
func TestTiersRegistered(t *testing.T) {
	names := clusters.Names()
	for _, want := range []string{target.TierEmbedded, target.TierLocal, target.TierKind} {
		if !slices.Contains(names, want) {
			t.Errorf("tier %s is not registered (have %v)", want, names)
		}
	}
	for _, tier := range clusters.All() {
		if tier.Summary() == "" {
			t.Errorf("tier %s has no summary", tier.Name())
		}
		for _, s := range tier.Settings() {
			if s.Name == "" || s.Usage == "" {
				t.Errorf("tier %s has a setting without name or usage: %+v", tier.Name(), s)
			}
		}
	}
}

// A stack started from a server profile fails what the release as shipped fails (kubeflow-1.8's
// authservice_session without HttpOnly): the failure stays in the run, marked as the profile's expectation, and
// does not count against the exit code; any other verdict would.
func TestExpectedAsShipped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := harness.Prepare(ctx, harness.Config{Profiles: []*profile.Profile{builtin(t, "kubeflow-1.8")}})
	defer s.Close()
	if err != nil {
		t.Fatal(err)
	}
	c, _ := checks.Get("OAUTH2P-007")
	run := s.Run(ctx, []*checks.Check{c}, harness.RunOptions{})[0]
	r := run.Results[0]
	if r.Status != result.Fail || r.Deviation == "" || run.Unexpected() != 0 {
		t.Fatalf("OAUTH2P-007 on kubeflow-1.8: %s deviation %q, %d unexpected", r.Status, r.Deviation, run.Unexpected())
	}
}
