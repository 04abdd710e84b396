package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kfp-authcheck/kfp-authcheck/report"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

func newReportCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Work with run files"}
	var format, baseline string
	var failOnUnexpected bool
	merge := &cobra.Command{
		Use:   "merge RUN.json...",
		Short: "Merge runs (targets, releases, profiles) into one matrix",
		Long: `Merge run JSON files (from run --format json, --out or an archive's runs/) or merged matrices (report merge
--format json) into one matrix on stdout: a column per run, a row per check. A file that is neither is refused
(exit 2); runs of different kfp-authcheck versions are merged with a warning. --format html gives one
self-contained page. Columns are named by run --label, else "<profile>/<tier>".

Exit codes: 0; 1 with --fail-on-unexpected when a run has an unexpected failure, or with --baseline when a check
counts against a column that did not in the baseline; 2 a file is not a run or a matrix.`,
		Example: `  # two deployments' runs side by side (run --format json --out DIR writes DIR/kfp-authcheck.json)
  kfp-authcheck report merge prod/kfp-authcheck.json staging/kfp-authcheck.json

  # one self-contained page
  kfp-authcheck report merge prod/kfp-authcheck.json staging/kfp-authcheck.json --format html > matrix.html

  # fail CI on checks that newly fail against last release's matrix
  kfp-authcheck report merge out/*.json --baseline last-release.json --format json > matrix.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			runs, err := readInputs(args)
			if err != nil {
				return err
			}
			m := report.Merge(runs...)
			if tv := report.ToolVersions(m); len(tv) > 1 {
				fmt.Fprintf(stderr, "kfp-authcheck: warning: the runs come from different kfp-authcheck versions (%s): a check may differ between them\n", strings.Join(tv, ", "))
			}
			if err := writeMatrix(stdout, format, m, runs); err != nil {
				return err
			}
			if baseline != "" {
				base, err := readInputs([]string{baseline})
				if err != nil {
					return err
				}
				if err := printRegressions(stderr, report.Merge(base...), m); err != nil {
					return err
				}
			}
			if failOnUnexpected {
				return unexpectedIn(runs)
			}
			return nil
		},
	}
	merge.Flags().StringVar(&format, "format", "md", "output format: text, md, json, junit, html")
	merge.Flags().BoolVar(&failOnUnexpected, "fail-on-unexpected", false, "exit 1 when a run has an unexpected failure, error or XPASS")
	merge.Flags().StringVar(&baseline, "baseline", "", "a run or merged matrix to compare with: exit 1 on checks that newly count against a column")
	diff := &cobra.Command{
		Use:   "diff BASELINE CURRENT...",
		Short: "Name the checks that newly fail against a baseline run or matrix",
		Long: `Compare runs or matrices with a baseline, column by column (by label; one column on each side pairs
whatever their labels), and list the checks that count against a column now and did not in the baseline.

Exit codes: 0 nothing newly fails; 1 something does; 2 a file is not a run or a matrix.`,
		Example: `  kfp-authcheck report diff last-release.json out/kfp-authcheck.json`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			base, err := readInputs(args[:1])
			if err != nil {
				return err
			}
			cur, err := readInputs(args[1:])
			if err != nil {
				return err
			}
			if err := printRegressions(stdout, report.Merge(base...), report.Merge(cur...)); err != nil {
				return err
			}
			fmt.Fprintln(stdout, "no check newly fails")
			return nil
		},
	}
	cmd.AddCommand(merge, diff)
	return cmd
}

// readInputs reads every file report merge and diff take; a file that is not a run or a matrix is a usage error.
func readInputs(paths []string) ([]*result.Run, error) {
	var runs []*result.Run
	for _, a := range paths {
		rs, err := report.ReadInputFile(a)
		if err != nil {
			return nil, usageErr("%v", err)
		}
		runs = append(runs, rs...)
	}
	return runs, nil
}

func writeMatrix(w io.Writer, format string, m *report.Matrix, runs []*result.Run) error {
	switch format {
	case "text":
		return report.Text(w, m)
	case "md":
		return report.Markdown(w, m)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(m)
	case "junit":
		return report.JUnit(w, runs...)
	case "html":
		return report.HTML(w, m)
	}
	return usageErr("--format %q: want text, md, json, junit or html", format)
}

// printRegressions names the checks that newly count against a column; an error (exit 1) when there are any.
func printRegressions(w io.Writer, base, cur *report.Matrix) error {
	regs, unmatched := report.Regressions(base, cur)
	for _, l := range unmatched {
		fmt.Fprintf(w, "kfp-authcheck: column %s has no column of that label in the baseline; not compared\n", l)
	}
	for _, r := range regs {
		fmt.Fprintf(w, "newly failing: %s [%s]: %s, was %s\n", r.ID, r.Column, r.Now, r.Was)
	}
	if len(regs) > 0 {
		return &exitError{code: exitUnexpected, err: fmt.Errorf("%d check(s) newly fail against the baseline", len(regs))}
	}
	return nil
}

// unexpectedIn is an error (exit 1) when a run has an unexpected result.
func unexpectedIn(runs []*result.Run) error {
	n := 0
	for _, r := range runs {
		n += r.Unexpected()
		if r.Aborted != "" || len(r.Results) == 0 {
			n++
		}
	}
	if n > 0 {
		return &exitError{code: exitUnexpected, err: fmt.Errorf("%d unexpected failure(s)", n)}
	}
	return nil
}
