package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
)

// cleanupTimeout bounds the whole of `cleanup`: the lists and every delete.
const cleanupTimeout = 2 * time.Minute

func newCleanupCmd(stdout, stderr io.Writer) *cobra.Command {
	var targetFile, kubeconfig, kubeContext, runID string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "cleanup (--target FILE | --kubeconfig FILE [--context NAME]) [--run ID] [--dry-run]",
		Short: "Remove the Kubernetes objects runs left behind (by their run label)",
		Long: `Remove what runs of kfp-authcheck left in a cluster: every Namespace, ServiceAccount, RoleBinding and
ClusterRole carrying the label ` + fixtures.RunLabel + ` (of every run, or of the one --run names), cluster-wide.
An object without the label is never touched, nor one with the label ` + fixtures.BaseLabel + ` that a stack's own
objects carry (its Profiles' namespaces, RoleBindings, Kubeflow's ClusterRoles): cleanup lists by the label and
deletes each listed object by its UID. A run removes its own objects at its end, also after Ctrl-C; cleanup is for a run that was killed, or
whose cluster went away mid-run (the run's JSON names its run_id under fixtures).

Exit codes: 0 nothing left; 1 an object could not be listed or deleted; 2 usage or configuration error; 3 the
cluster could not be reached.`,
		Example: `  # what every run left in the target file's cluster, removing nothing
  kfp-authcheck cleanup --target my-kubeflow.yaml --dry-run

  # remove one run's objects (fixtures.run_id in its run JSON)
  kfp-authcheck cleanup --kubeconfig ~/.kube/config --context kind-kfp --run 3f9a1c2e`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, where, err := clusterClient(targetFile, kubeconfig, kubeContext, cmd.Flags().Changed("context"), "clean up")
			if err != nil {
				return err
			}
			if _, err := fixtures.Selector(runID); err != nil {
				return usageErr("%v", err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), cleanupTimeout)
			defer cancel()
			return cleanup(ctx, client, where, runID, dryRun, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&targetFile, "target", "", "target file whose kubeconfig and context name the cluster")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (instead of --target)")
	f.StringVar(&kubeContext, "context", "", "kubeconfig context (default: its current context); with --kubeconfig")
	f.StringVar(&runID, "run", "", "remove only this run's objects (the run_id of a run's fixtures); default: every run's")
	f.BoolVar(&dryRun, "dry-run", false, "list what would be removed, and remove nothing")
	return cmd
}

func cleanup(ctx context.Context, client kubernetes.Interface, where, runID string, dryRun bool, stdout, stderr io.Writer) error {
	// One cheap call first: an unreachable cluster is exit 3 with its cause, not four failed lists.
	if _, err := client.Discovery().ServerVersion(); err != nil {
		var se apierrors.APIStatus
		if !errors.As(err, &se) {
			return &exitError{code: exitUnreachable, err: fmt.Errorf("%s could not be reached: %w", where, err)}
		}
	}
	scope := "every run"
	if runID != "" {
		scope = "run " + runID
	}
	rep, err := fixtures.Sweep(ctx, client, runID, dryRun)
	terminating := 0
	for _, o := range rep.Found {
		switch {
		case o.Terminating:
			terminating++
			fmt.Fprintf(stdout, "being deleted already: %s\n", o)
		case dryRun:
			fmt.Fprintf(stdout, "would delete: %s\n", o)
		}
	}
	for _, o := range rep.Deleted {
		fmt.Fprintf(stdout, "deleted: %s\n", o)
	}
	verb := "deleted"
	n := len(rep.Deleted)
	if dryRun {
		verb, n = "would delete", len(rep.Found)-terminating
	}
	fmt.Fprintf(stdout, "%s labelled %s (%s): %d object(s) found, %s %d, %d being deleted already\n",
		where, fixtures.RunLabel, scope, len(rep.Found), verb, n, terminating)
	if err != nil {
		fmt.Fprintln(stderr, "kfp-authcheck: cleanup:", err)
		return &exitError{code: exitUnexpected, err: err}
	}
	return nil
}
