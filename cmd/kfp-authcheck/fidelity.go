package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/harness"
	"github.com/kfp-authcheck/kfp-authcheck/harness/fidelity"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

func newFidelityCmd(stdout, stderr io.Writer) *cobra.Command {
	var profiles, only string
	var parallel int
	cmd := &cobra.Command{
		Use:   "fidelity",
		Short: "Compare the embedded stand-ins with the real programs: the checks whose verdict or reason differs",
		Long: `Run the checks against the embedded tier and the local tier (the real Dex and oauth2-proxy, built by
make tools) for each profile, and print the checks whose verdict or reason differs as a Markdown table.

Exit codes: 0 no difference, or only the documented ones (docs/fidelity.md); 1 an unexplained difference (a
mock that drifted from the real program); 2 usage error, or the programs are not built.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names := splitList(profiles)
			if len(names) == 0 {
				names = profile.Names()
			}
			for _, n := range names {
				if _, err := profile.Get(n); err != nil {
					return usageErr("--profile: %v", err)
				}
			}
			list, err := checks.Select(splitList(only))
			if err != nil {
				return usageErr("%v", err)
			}
			begin := time.Now()
			rep, err := fidelity.Compare(cmd.Context(), names, list, fidelity.Options{Parallel: parallel, Progress: stderr})
			if harness.IsConfig(err) {
				return usageErr("%v", err)
			}
			if err != nil {
				return err
			}
			fidelity.WriteTable(stdout, rep)
			fidelity.WriteActualDiffs(stdout, rep)
			fmt.Fprintf(stderr, "fidelity: %d check(s) x %d profile(s) on both tiers in %s (start-up: embedded %s, local %s); %d difference(s), %d unexplained\n",
				len(list), len(names), time.Since(begin).Round(time.Millisecond),
				rep.Startup["embedded"].Round(time.Millisecond), rep.Startup["local"].Round(time.Millisecond),
				len(rep.Diffs), rep.Unexplained())
			if n := rep.Unexplained(); n > 0 {
				return &exitError{code: exitUnexpected, err: fmt.Errorf("%d unexplained difference(s)", n)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&profiles, "profile", "", "profiles to compare, comma-separated (default: every built-in profile)")
	f.StringVar(&only, "only", "", "check IDs, families or globs, comma-separated (default: the whole catalogue)")
	f.IntVar(&parallel, "parallel", 4, "checks run at once per stack")
	profileFileAlias(cmd)
	return cmd
}
