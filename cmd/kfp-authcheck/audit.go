package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/internal/atomicfile"
	"github.com/kfp-authcheck/kfp-authcheck/internal/audit"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// auditTimeout bounds the whole of `audit`: the lists, the evaluation and the SubjectAccessReviews.
const auditTimeout = 2 * time.Minute

func newAuditCmd(stdout, stderr io.Writer) *cobra.Command {
	var targetFile, kubeconfig, kubeContext, out string
	var samples, concurrency int
	cmd := &cobra.Command{
		Use:   "audit (--target FILE | --kubeconfig FILE [--context NAME]) [--out FILE]",
		Short: "Audit tenant isolation: who in one profile namespace can act on KFP's resources in another",
		Long: `Audit the isolation of a cluster's Kubeflow profile namespaces (those with a Profile, or labelled
` + audit.ProfileLabel + `). For every profile namespace, the identities it gives (its default-editor and
default-viewer ServiceAccounts, the Profile's owner, the contributors KFAM bound) are evaluated against every
other profile namespace on every KFP request (pipelines.kubeflow.org: experiments, runs, pipelines, pipeline
versions, jobs... with KFP's verbs), from the cluster's RBAC objects with Kubernetes' own rule comparison; a
sample of the answers is asked of the cluster's SubjectAccessReviews, and any difference is reported.

Every cross-namespace grant is named with the binding that makes it. A grant that a RoleBinding the profile
declares explains (a KFAM contributor binding, annotated user and role) is reported; any other fails the audit.
The audit only reads (lists and SubjectAccessReviews) and writes the run JSON (one ISO-009 result with the
matrix under "audit") to stdout or --out.

Exit codes: 0 every grant explained; 1 an unexplained grant or an answer that differs; 2 usage or configuration
error; 3 the cluster could not be reached.`,
		Example: `  kfp-authcheck audit --target my-kubeflow.yaml --out audit.json
  kfp-authcheck audit --kubeconfig ~/.kube/config --context prod --samples 500`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, where, err := clusterClient(targetFile, kubeconfig, kubeContext, cmd.Flags().Changed("context"), "audit")
			if err != nil {
				return err
			}
			if samples < 0 || concurrency < 1 {
				return usageErr("--samples must be 0 or more and --concurrency 1 or more")
			}
			if samples == 0 {
				samples = -1 // the option's zero is the default; the flag's 0 sends none
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), auditTimeout)
			defer cancel()
			return runAudit(ctx, client, where, audit.Options{Samples: samples, Concurrency: concurrency}, out, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&targetFile, "target", "", "target file whose kubeconfig and context name the cluster")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (instead of --target)")
	f.StringVar(&kubeContext, "context", "", "kubeconfig context (default: its current context); with --kubeconfig")
	f.StringVar(&out, "out", "", "write the run JSON to this file (default stdout; the summary goes to stderr)")
	f.IntVar(&samples, "samples", 200, "SubjectAccessReviews that check the evaluation (0: none)")
	f.IntVar(&concurrency, "concurrency", 8, "SubjectAccessReviews in flight at once")
	return cmd
}

func runAudit(ctx context.Context, client kubernetes.Interface, where string, opts audit.Options, out string, stdout, stderr io.Writer) error {
	if _, err := client.Discovery().ServerVersion(); err != nil {
		var se apierrors.APIStatus
		if !errors.As(err, &se) {
			return &exitError{code: exitUnreachable, err: fmt.Errorf("%s could not be reached: %w", where, err)}
		}
	}
	run := result.Run{ToolVersion: version, Target: where, Tier: target.TierLive, Started: time.Now().UTC()}
	a, err := audit.Audit(ctx, client, opts)
	run.Finished = time.Now().UTC()
	var r result.Result
	if a == nil {
		r = result.Result{ID: "ISO-009", Family: "ISO", Status: result.Error, Reason: result.Unreachable,
			Message: fmt.Sprintf("%s: %v", where, err)}
	} else {
		r = audit.Result(a)
		if err != nil && r.Status == result.Pass {
			r.Status, r.Reason, r.Message = result.Error, result.Unreachable, err.Error()
		}
	}
	if c, ok := checks.Get("ISO-009"); ok {
		r.Title, r.Severity, r.References = c.Title, string(c.Severity), c.References
	}
	r.DurationMS = run.Finished.Sub(run.Started).Milliseconds()
	run.Results = []result.Result{r}
	b, jerr := json.MarshalIndent(run, "", "  ")
	if jerr != nil {
		return &exitError{code: exitUnexpected, err: jerr}
	}
	b = append(b, '\n')
	if out == "" {
		if _, err := stdout.Write(b); err != nil {
			return &exitError{code: exitUnexpected, err: err}
		}
	} else if err := atomicfile.Write(out, b, 0o644); err != nil {
		return &exitError{code: exitUnexpected, err: err}
	}
	summary := r.Actual
	if i := strings.IndexByte(summary, '\n'); i >= 0 && a != nil && a.Unexplained == 0 && len(a.Grants) > 20 {
		summary = summary[:i] // many explained grants: the JSON lists them
	}
	verdict := string(r.Status)
	if r.Reason != "" {
		verdict += " " + string(r.Reason)
	}
	fmt.Fprintf(stderr, "ISO-009 %s: %s\n%s\n", verdict, r.Message, summary)
	if a != nil {
		fmt.Fprintf(stderr, "read %d ms, evaluated %d ms, %d SubjectAccessReviews %d ms\n", a.ReadMS, a.EvalMS, a.Sampled, a.ReviewMS)
	}
	if r.Status != result.Pass {
		return &exitError{code: exitUnexpected, err: errors.New(r.Message)}
	}
	return nil
}
