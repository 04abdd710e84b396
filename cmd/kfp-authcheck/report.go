package main

import (
	"encoding/json"
	"io"

	"github.com/spf13/cobra"

	"github.com/kfp-authcheck/kfp-authcheck/report"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

func newReportCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Work with run files"}
	var format string
	merge := &cobra.Command{
		Use:   "merge RUN.json...",
		Short: "Merge runs (targets, releases, profiles) into one matrix",
		Long: `Merge run JSON files (from run --format json, --out or an archive's runs/) into one matrix on stdout:
a column per run, a row per check. --format html gives one self-contained page (kfp-authcheck report merge
a.json b.json --format html > matrix.html).`,
		Example: `  # two deployments' runs side by side (run --format json --out DIR writes DIR/kfp-authcheck.json)
  kfp-authcheck report merge prod/kfp-authcheck.json staging/kfp-authcheck.json

  # one self-contained page
  kfp-authcheck report merge prod/kfp-authcheck.json staging/kfp-authcheck.json --format html > matrix.html`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			var runs []*result.Run
			for _, a := range args {
				r, err := report.ReadRunFile(a)
				if err != nil {
					return usageErr("%v", err)
				}
				runs = append(runs, r)
			}
			m := report.Merge(runs...)
			switch format {
			case "text":
				return report.Text(stdout, m)
			case "md":
				return report.Markdown(stdout, m)
			case "json":
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(m)
			case "junit":
				return report.JUnit(stdout, runs...)
			case "html":
				return report.HTML(stdout, m)
			}
			return usageErr("--format %q: want text, md, json, junit or html", format)
		},
	}
	merge.Flags().StringVar(&format, "format", "md", "output format: text, md, json, junit, html")
	cmd.AddCommand(merge)
	return cmd
}
