package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// plan is what --dry-run prints after the effective configuration: per target, what would be set up and what
// each check would do. It is decided from the configuration alone: no stack starts, nothing is sent.
type plan struct {
	Config  runConfig       `json:"config"`
	Targets []plannedTarget `json:"targets"`
}

type plannedTarget struct {
	Name     string         `json:"name"`
	Tier     string         `json:"tier"`
	Profile  string         `json:"profile"`
	Fixtures []string       `json:"fixtures"`
	Checks   []plannedCheck `json:"checks"`
}

type plannedCheck struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Runs     bool   `json:"runs"`
	Why      string `json:"why,omitempty"`
	Expected string `json:"expected"`
}

// dryRun prints the effective configuration (redacted) and the plan, as text or JSON, and touches nothing: the
// target file's passwords are resolved (a missing one is a configuration error now rather than mid-run), but no
// connection is made and no stack is started.
func dryRun(cfg runConfig, list []*checks.Check, stdout io.Writer) error {
	pl := plan{Config: cfg.printable()}
	if cfg.Target != nil {
		t, err := target.FromFile(cfg.Target, nil)
		if err != nil {
			return usageErr("target file %s: %v", cfg.TargetFile, err)
		}
		pl.Targets = append(pl.Targets, planTarget(t, list, liveFixtures(t, cfg.Target)))
	} else {
		names := cfg.Profiles
		if len(names) == 0 {
			names = profile.Names()
		}
		for _, name := range names {
			p, err := profile.Get(name)
			if err != nil {
				return usageErr("--profile: %v", err)
			}
			t := embeddedPlanTarget(p)
			pl.Targets = append(pl.Targets, planTarget(t, list, embeddedFixtures(p)))
		}
	}
	if contains(cfg.Formats, "json") {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(pl)
	}
	return printPlan(stdout, pl)
}

func planTarget(t *target.Target, list []*checks.Check, fixtures []string) plannedTarget {
	pt := plannedTarget{Name: t.Name, Tier: t.Tier, Profile: t.ProfileName(), Fixtures: fixtures}
	if t.AutoProfile {
		pt.Profile = "auto (chosen at run time from the gateway's unauthenticated answers; n/a below assume no profile)"
	} else if pt.Profile == "" {
		pt.Profile = "none (behaviour is recorded, not compared)"
	}
	for _, p := range checks.Plan(t, list) {
		pt.Checks = append(pt.Checks, plannedCheck{ID: p.Check.ID, Title: p.Check.Title, Runs: p.Runs, Why: p.Why, Expected: p.Expected})
	}
	return pt
}

// embeddedPlanTarget is the target an embedded stack of p would give, without starting it: the same
// capabilities Stack.Target declares (the profile's, multi-user, the movable clock, the OOB client).
func embeddedPlanTarget(p *profile.Profile) *target.Target {
	scheme := "http"
	if p.HTTPS {
		scheme = "https"
	}
	t := &target.Target{Name: "embedded:" + p.Name, Tier: target.TierEmbedded,
		GatewayURL: scheme + "://127.0.0.1:<port chosen at start>"}
	for _, u := range p.Users {
		t.Users = append(t.Users, target.User{Email: u.Email, Username: u.Username, Connector: u.Connector, Namespace: u.Namespace})
	}
	if p.Has(target.CapOOBClient) {
		t.OOBClientID = "kubeflow-pipelines-sdk"
	}
	t.SetProfile(p)
	t.Capabilities[target.CapClock] = true
	return t
}

func embeddedFixtures(p *profile.Profile) []string {
	parts := []string{"KFP API stand-in " + p.KFP.Version}
	if p.Dex != nil {
		parts = append([]string{"Dex stand-in " + p.Dex.Version}, parts...)
	}
	if p.Gateway != nil {
		parts = append([]string{p.Gateway.Kind + " stand-in " + p.Gateway.Version}, parts...)
	}
	out := []string{"an in-process stack on loopback (free ports): " + strings.Join(parts, ", ")}
	if p.Dex != nil {
		out = append(out, fmt.Sprintf("%d user(s) and %d extra client(s) provisioned through Dex's gRPC API", len(p.Users), len(p.Dex.Clients)))
	}
	return append(out, "everything stops when the run ends")
}

// liveFixtures says what a run against a live deployment would do to it: today only logins and reads.
func liveFixtures(t *target.Target, f *target.File) []string {
	var out []string
	if t.AutoProfile {
		out = append(out, "profile auto: two unauthenticated GETs to the pipeline URL before the checks")
	}
	if len(t.Users) > 0 {
		var who []string
		for _, u := range t.Users {
			who = append(who, fmt.Sprintf("%s (%s)", u.Email, u.Connector))
		}
		out = append(out, "Dex logins through the gateway as "+strings.Join(who, ", ")+"; experiments are only listed")
	} else {
		out = append(out, "no users: only unauthenticated requests")
	}
	if f.Kubeconfig != "" || f.Context != "" {
		out = append(out, "kubeconfig/context: given: the SA, RBAC and ISO checks create their own Profile namespaces, "+
			"ServiceAccounts and RoleBindings (named kfp-authcheck-<run id>-*, labelled "+fixtures.RunLabel+"=<run id>), "+
			"mint ServiceAccount tokens through TokenRequest, and delete every object they created when each check ends; "+
			"ISO-004, ISO-005 and ISO-006 also create KFP objects in those namespaces (an experiment, a private pipeline, a one-step "+
			"busybox run, which is terminated and deleted again; ISO-005's run names the namespace's default-viewer as its "+
			"serviceAccountName); the M2M checks send the tokens to the gateway; "+
			"ClusterRoles the cluster lacks (kubeflow-edit and kin) are created once and removed at the end, existing ones are "+
			"never changed; at the end (also after Ctrl-C) everything labelled with the run's ID is removed; "+
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

func printPlan(w io.Writer, pl plan) error {
	b, err := json.MarshalIndent(pl.Config, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "# effective configuration (secrets redacted)")
	fmt.Fprintln(w, string(b))
	fmt.Fprintln(w, "# plan (dry run: no stack started, no request sent)")
	for _, t := range pl.Targets {
		fmt.Fprintf(w, "target %s: tier %s, profile %s\n", t.Name, t.Tier, t.Profile)
		for _, f := range t.Fixtures {
			fmt.Fprintf(w, "  fixture: %s\n", f)
		}
		runs, na := 0, 0
		for _, c := range t.Checks {
			if c.Runs {
				runs++
				fmt.Fprintf(w, "  run  %-14s expect %-5s %s\n", c.ID, c.Expected, c.Title)
			} else {
				na++
				fmt.Fprintf(w, "  n/a  %-14s %s\n", c.ID, c.Why)
			}
		}
		fmt.Fprintf(w, "  %d check(s) would run, %d would be n/a\n", runs, na)
	}
	return nil
}
