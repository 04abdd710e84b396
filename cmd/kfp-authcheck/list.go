package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
)

func newListCmd(stdout io.Writer) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the check catalogue",
		Example: `  kfp-authcheck list
  kfp-authcheck list --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all := checks.All()
			switch format {
			case "text":
				tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSEVERITY\tNEEDS\tTITLE")
				for _, c := range all {
					needs := strings.Join(c.Needs, ",")
					if needs == "" {
						needs = "-"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Severity, needs, c.Title)
				}
				return tw.Flush()
			case "json":
				type entry struct {
					ID         string   `json:"id"`
					Family     string   `json:"family"`
					Severity   string   `json:"severity"`
					Title      string   `json:"title"`
					Needs      []string `json:"needs,omitempty"`
					References []string `json:"references,omitempty"`
				}
				out := make([]entry, 0, len(all))
				for _, c := range all {
					out = append(out, entry{c.ID, c.Family, string(c.Severity), c.Title, c.Needs, c.References})
				}
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			return usageErr("--format %q: want text or json", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
