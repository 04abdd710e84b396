package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/report"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func newListCmd(stdout io.Writer) *cobra.Command {
	var format string
	var capabilities, reasons bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the check catalogue",
		Example: `  kfp-authcheck list
  kfp-authcheck list --format json
  kfp-authcheck list --capabilities
  kfp-authcheck list --reasons`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if capabilities {
				return listCapabilities(stdout, format)
			}
			if reasons {
				return listReasons(stdout, format)
			}
			all := checks.All()
			switch format {
			case "text":
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSEVERITY\tNEEDS\tTITLE")
				for _, c := range all {
					var names []string
					for _, n := range c.Needs {
						names = append(names, string(n))
					}
					needs := strings.Join(names, ",")
					if needs == "" {
						needs = "-"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Severity, needs, c.Title)
				}
				for _, id := range report.RetiredChecks {
					fmt.Fprintf(tw, "%s\tretired\t-\treserved, never reused: %s\n", id, report.Retirement[id])
				}
				return tw.Flush()
			case "json":
				// A retired ID is listed with retired true and why, no severity and no title: it names no check.
				type entry struct {
					ID             string              `json:"id"`
					Family         string              `json:"family"`
					Severity       string              `json:"severity,omitempty"`
					Title          string              `json:"title,omitempty"`
					Needs          []target.Capability `json:"needs,omitempty"`
					References     []string            `json:"references,omitempty"`
					Retired        bool                `json:"retired,omitempty"`
					RetiredBecause string              `json:"retired_because,omitempty"`
				}
				out := make([]entry, 0, len(all)+len(report.RetiredChecks))
				for _, c := range all {
					out = append(out, entry{ID: c.ID, Family: c.Family, Severity: string(c.Severity), Title: c.Title, Needs: c.Needs, References: c.References})
				}
				for _, id := range report.RetiredChecks {
					family := id[:strings.LastIndex(id, "-")]
					out = append(out, entry{ID: id, Family: family, Retired: true, RetiredBecause: report.Retirement[id]})
				}
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			return usageErr("--format %q: want text or json", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&reasons, "reasons", false, "list the reason codes a result may carry: what each means and how to fix it")
	cmd.Flags().BoolVar(&capabilities, "capabilities", false, "list the capability vocabulary instead: what a check may need, a server profile may declare (declarable) and a target file may state under capabilities")
	return cmd
}

func listCapabilities(stdout io.Writer, format string) error {
	vocab := profile.Vocabulary()
	switch format {
	case "text":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CAPABILITY\tDECLARABLE\tMEANING")
		for _, c := range vocab {
			fmt.Fprintf(tw, "%s\t%t\t%s\n", c.Name, c.Declarable, c.Doc)
		}
		return tw.Flush()
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(vocab)
	}
	return usageErr("--format %q: want text or json", format)
}

// listReasons prints every reason code with its meaning and one line on how to fix it.
func listReasons(stdout io.Writer, format string) error {
	switch format {
	case "text":
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "REASON\tMEANING\tFIX")
		for _, r := range report.Reasons {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Code, r.Meaning, r.Fix)
		}
		return tw.Flush()
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report.Reasons)
	}
	return usageErr("--format %q: want text or json", format)
}

// retiredOnly explains a --only that names a retired check ID: the ID is reserved and why it went; any other
// selection error is returned as it is.
func retiredOnly(only []string, err error) error {
	for _, raw := range only {
		id := strings.ToUpper(strings.TrimSpace(raw))
		if why, ok := report.Retirement[id]; ok {
			return fmt.Errorf("--only %q: %s is a retired check (its ID stays reserved): %s", raw, id, why)
		}
	}
	return err
}
