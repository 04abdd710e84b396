package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/harness"
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
	Reason   string `json:"reason,omitempty"`
	Why      string `json:"why,omitempty"`
	Expected string `json:"expected"`
}

// dryRun prints the effective configuration (redacted) and the plan, as text or JSON, and touches nothing: the
// target file's passwords are resolved (a missing one is a configuration error now rather than mid-run), but no
// connection is made and no stack is started. The plan comes from the harness: each tier describes the stack it
// would start, and the checks' own gate decides run or n/a, as in the run.
func dryRun(cfg runConfig, list []*checks.Check, stdout io.Writer) error {
	pl := plan{Config: cfg.printable()}
	planned, err := harness.Plan(cfg.harness(list, nil))
	if err != nil {
		return usageErr("%v", err)
	}
	for _, pt := range planned {
		t := plannedTarget{Name: pt.Name, Tier: pt.Tier, Profile: pt.Profile, Fixtures: pt.Fixtures}
		for _, c := range pt.Checks {
			t.Checks = append(t.Checks, plannedCheck{ID: c.Check.ID, Title: c.Check.Title, Runs: c.Runs, Reason: string(c.Reason), Why: c.Why, Expected: c.Expected})
		}
		pl.Targets = append(pl.Targets, t)
	}
	if contains(cfg.Formats, "json") {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(pl)
	}
	return printPlan(stdout, pl)
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
