package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kfp-authcheck/kfp-authcheck/harness"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/report"
	"github.com/kfp-authcheck/kfp-authcheck/report/versions"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// stampFlags are run's flags that shape what the reports say about the run (issue: results CI can trust).
type stampFlags struct {
	Label  string
	FailOn string
	// Wide never cuts a title in the terminal matrix.
	Wide bool
}

func addStampFlags(f *pflag.FlagSet, s *stampFlags) {
	f.StringVar(&s.Label, "label", "", `name of the run's column in the matrix and in report merge (kept in the run JSON; default "<profile>/<tier>"); with several profiles, "<label>/<profile>"`)
	f.BoolVar(&s.Wide, "wide", false, "never cut a check's title in the text matrix (by default titles fit the terminal's width)")
	f.StringVar(&s.FailOn, "fail-on", "fail", "what fails the run (exit 1 and JUnit failures): fail (unexpected failures, errors and XPASS) or warn (warnings too)")
}

func (s stampFlags) validate() error {
	switch s.FailOn {
	case "fail", "warn":
	default:
		return usageErr("--fail-on %q: want fail or warn", s.FailOn)
	}
	if strings.ContainsAny(s.Label, "\n\r") {
		return usageErr("--label must be one line")
	}
	return nil
}

// stampRuns records in each run what every report names: its label, the contract version, --fail-on, the
// profile's description and the versions the target shows (else the profile's, marked so). seen is
// session.Versions, collected once for the reports and the archive.
func stampRuns(s stampFlags, runs []*result.Run, profiles []string, descriptions []string, seen []versions.Seen, profs func(i int) *profile.Profile) {
	for i, r := range runs {
		r.SchemaVersion = result.SchemaVersion
		if s.FailOn == "warn" {
			r.FailOn = "warn"
		}
		if s.Label != "" {
			r.Label = s.Label
			if len(runs) > 1 {
				r.Label = s.Label + "/" + profiles[i]
			}
		}
		if i < len(descriptions) {
			r.ProfileDescription = descriptions[i]
		}
		if i < len(seen) {
			r.Versions = versions.Run(seen[i], profs(i))
		}
	}
}

// sessionStamp collects what stampRuns needs from the session.
func sessionStamp(ctx context.Context, s stampFlags, session *harness.Session, runs []*result.Run) []versions.Seen {
	seen := session.Versions(ctx)
	names := make([]string, len(session.Targets))
	descs := make([]string, len(session.Targets))
	for i, t := range session.Targets {
		names[i] = t.ProfileName()
		if names[i] == "" {
			names[i] = t.Name
		}
		if t.Profile != nil {
			descs[i] = t.Profile.Description
		}
	}
	stampRuns(s, runs, names, descs, seen, func(i int) *profile.Profile { return session.Targets[i].Profile })
	return seen
}

// setupFailureRuns stands for a run that never reached its target (exit 3): one SETUP error result that says why,
// so that every report asked for with --out still says what happened, and a JUnit consumer sees an error.
func setupFailureRuns(cfg runConfig, s stampFlags, err error) []*result.Run {
	now := time.Now().UTC()
	name, tier := cfg.TargetFile, cfg.Tier
	if cfg.Target != nil {
		tier = target.TierLive
	}
	if cfg.Kube.Kubeconfig != "" {
		name = "kubeconfig " + cfg.Kube.Kubeconfig
		if cfg.Kube.Context != "" {
			name += " (context " + cfg.Kube.Context + ")"
		}
	}
	if name == "" {
		name = cfg.Tier
	}
	profiles := cfg.Profiles
	if len(profiles) == 0 {
		profiles = []string{""}
	}
	var runs []*result.Run
	descs := make([]string, len(profiles))
	for i, p := range profiles {
		for _, prof := range cfg.profiles {
			if prof.Name == p || (len(cfg.profiles) == 1 && len(profiles) == 1) {
				descs[i], profiles[i] = prof.Description, prof.Name
			}
		}
		p = profiles[i]
		r := &result.Run{
			SchemaVersion: result.SchemaVersion, ToolVersion: version, Target: name, Profile: p, Tier: tier,
			Started: now, Finished: now,
			Results: []result.Result{{
				ID: "SETUP-001", Title: "the target is reachable", Family: "SETUP", Severity: "MUST",
				Status: result.Error, Reason: result.Unreachable, Message: err.Error(),
			}},
		}
		runs = append(runs, r)
	}
	stampRuns(s, runs, profiles, descs, nil, nil)
	return runs
}

// writeSetupFailure writes every report --out asks for about a run that could not reach its target; the exit
// code stays 3 whatever happens here (a failure to write is said on stderr).
func writeSetupFailure(cfg runConfig, s stampFlags, cause error, stderr io.Writer) {
	if cfg.OutDir == "" {
		return
	}
	runs := setupFailureRuns(cfg, s, cause)
	paths, err := report.WriteFiles(cfg.OutDir, "kfp-authcheck", cfg.Formats, runs...)
	if err != nil {
		fmt.Fprintln(stderr, "kfp-authcheck: writing the reports of the unreachable target:", err)
	}
	for _, p := range paths {
		fmt.Fprintln(stderr, "wrote", p)
	}
}
