package main

import (
	"io"

	"github.com/spf13/cobra"
)

// componentCmds builds the servers and the probe that run inside a cluster's pods from the project's image. They
// are not the operator's commands: `kfp-authcheck component <name>` runs them, and `kfp-authcheck component
// --help` lists them; the root help does not.
func componentCmds(stdout, stderr io.Writer) []*cobra.Command {
	return []*cobra.Command{newKFPStandInCmd(stderr), newGatewayCmd(stderr), newPodDefaultWebhookCmd(stderr),
		newLDAPDirectoryCmd(stderr), newProbeCmd(stdout, stderr)}
}

// newComponentCmd groups the in-cluster components, hidden from the root help.
func newComponentCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "component",
		Short: "The servers and the probe the kind tier and the live tier run in a cluster's pods",
		Long: `The programs the project's image runs inside a cluster: the kind tier deploys the servers
(clusters/kind/manifests/kind-*.yaml, fixtures/manifests/probe-job.yaml) and the kind and live tiers run the probe in a Job in a profile namespace
(fixtures/manifests/probe-job.yaml). They are not meant to be run by hand, though a person can, against any
cluster with --kubeconfig. Each serves until SIGINT or SIGTERM, except the probe, which prints its run and exits.`,
		Example: `  kfp-authcheck component kfp-standin --profile kubeflow --kubeconfig ~/.kube/config
  kfp-authcheck component probe --api-url http://ml-pipeline.kubeflow:8888 --namespace kubeflow-user-example-com`,
		Hidden: true,
		Args:   cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErr("unknown component %q (kfp-authcheck component --help lists them)", args[0])
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(componentCmds(stdout, stderr)...)
	return cmd
}

// legacyComponentCmds are the components under their old top-level names (kfp-authcheck probe, ...), hidden, so
// an image or a manifest written before `component` keeps working.
func legacyComponentCmds(stdout, stderr io.Writer) []*cobra.Command {
	cmds := componentCmds(stdout, stderr)
	for _, c := range cmds {
		c.Hidden = true
	}
	return cmds
}
