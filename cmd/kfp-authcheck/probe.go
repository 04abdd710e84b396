package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/report"
)

// newProbeCmd is the in-cluster probe: run inside a pod (a Job the outside runner creates), it checks what the
// pod's own ServiceAccount can do with its projected token, and prints the run as JSON on stdout for the runner
// to read from the pod's log.
func newProbeCmd(stdout, stderr io.Writer) *cobra.Command {
	var p checks.Probe
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Inside a pod: check the pod's projected ServiceAccount token against the in-cluster KFP API (run JSON on stdout)",
		Long: `probe runs inside a pod of a profile namespace. It reads the projected token the SDK would read
($KF_PIPELINES_SA_TOKEN_PATH, else /var/run/secrets/kubeflow/pipelines/token), re-reading it per request, and
lists and creates experiments in the pod's namespace through the in-cluster KFP API. It prints the run as JSON
on stdout and nothing else there. Exit codes: 0 the checks passed, 1 one failed, 2 a usage error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := p.Defaults(os.Getenv)
			if err != nil {
				return usageErr("%v", err)
			}
			t, err := p.Target()
			if err != nil {
				return usageErr("%v", err)
			}
			run := checks.Run(cmd.Context(), t, p.Checks(), checks.Options{ToolVersion: version, CheckTimeout: 4 * p.RequestTimeout})
			if err := report.WriteJSON(stdout, run); err != nil {
				return err
			}
			if n := run.Unexpected(); n > 0 || run.Aborted != "" {
				return &exitError{code: exitUnexpected, err: fmt.Errorf("%d check(s) failed", n)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.APIURL, "api-url", "", "the in-cluster KFP API (default "+checks.DefaultProbeAPIURL+")")
	f.StringVar(&p.Namespace, "namespace", "", "the pod's namespace (default: read from the ServiceAccount's namespace file)")
	f.StringVar(&p.TokenPath, "token-path", "", "the projected token (default: $KF_PIPELINES_SA_TOKEN_PATH, else /var/run/secrets/kubeflow/pipelines/token)")
	f.DurationVar(&p.RequestTimeout, "timeout", 15*time.Second, "time limit of each request")
	return cmd
}
