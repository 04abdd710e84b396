package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfp-authcheck/kfp-authcheck/clusters"
	"github.com/kfp-authcheck/kfp-authcheck/harness"
	"github.com/kfp-authcheck/kfp-authcheck/internal/atomicfile"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func newServeCmd(stdout, stderr io.Writer) *cobra.Command {
	var profileName, listen, readyFile, tier string
	var kube bool
	var settings *tierFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start a stand-in deployment on loopback to develop an auth script against",
		Long: `Start the stack of one profile on loopback and keep it running until SIGINT or SIGTERM: on the embedded
tier (default) Dex, the gateway and the KFP API stand-ins in-process; on --tier local the real Dex and
oauth2-proxy (built by make tools) in front of the KFP API stand-in, with --kube a real kube-apiserver too
(the stand-in's TokenReviews and SubjectAccessReviews go there; the profile's Kubeflow Profiles are its RBAC),
and with --kfp real the real KFP API server (with MariaDB, an S3 store and kube-apiserver) instead of the
stand-in; on --tier kind a kind cluster (a Docker engine needed), with --kind-image the KFP API stand-in, the
PodDefault webhook, Dex, oauth2-proxy and the gateway deployed into it and the gateway forwarded to loopback
(docs/kind.md), deleted on exit unless --keep.

The stack's description is printed to stdout as one JSON object and, with --ready-file, written to that file
(mode 0600: it holds the users' passwords). The description is itself a valid target file: keys profile,
gateway_url, pipeline_url, issuer_url, in_cluster_api_url, dex_grpc_addr, tls, users, oob_client_id.`,
		Example: `  # the kubeflow stand-ins until Ctrl-C; the description, a target file, also in kubeflow.json
  kfp-authcheck serve --profile kubeflow --ready-file kubeflow.json

  # from another shell: the checks against it
  kfp-authcheck run --target kubeflow.json

  # deployKF's real Dex and oauth2-proxy on loopback, with a real kube-apiserver
  kfp-authcheck serve --tier local --profile deploykf --kube`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := resolveProfile(profileName)
			if err != nil {
				return usageErr("--profile: %v", err)
			}
			tierSettings := settings.given(cmd.Flags().Changed)
			// --kube asks the local tier for its kube-apiserver whatever checks might run later: serve runs none.
			needs := []target.Capability{}
			if kube {
				if tier != target.TierLocal {
					return usageErr("--kube starts a real kube-apiserver, on --tier local only")
				}
				needs = nil
			}
			hc := harness.Config{Tier: tier, Profiles: []*profile.Profile{p}, Listen: listen, Settings: tierSettings,
				Progress: stderr, Log: stderr}
			if err := harness.Validate(hc); err != nil {
				return usageErr("%v", err)
			}
			start := time.Now()
			stack, err := harness.StartOne(cmd.Context(), hc, needs)
			if harness.IsConfig(err) {
				return usageErr("%v", err)
			}
			if err != nil {
				return err
			}
			defer stack.Close()
			desc, err := stack.Description().Marshal()
			if err != nil {
				return err
			}
			desc = append(desc, '\n')
			if readyFile != "" {
				if err := atomicfile.Write(readyFile, desc, 0o600); err != nil {
					return fmt.Errorf("--ready-file: %w", err)
				}
			}
			if _, err := stdout.Write(desc); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "kfp-authcheck: %s %s stack up in %s at %s (%s); Ctrl-C to stop\n", tier, p.Name,
				time.Since(start).Round(time.Millisecond), stack.Description().GatewayURL, clusters.Programs(stack))
			<-cmd.Context().Done()
			fmt.Fprintln(stderr, "kfp-authcheck: stopping")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&profileName, "profile", "kubeflow", "server profile to serve: a built-in name ("+strings.Join(profile.Names(), ", ")+") or a profile file (*.yaml)")
	f.StringVar(&listen, "listen", "127.0.0.1:0", "gateway listen address (port 0: a free port)")
	f.StringVar(&readyFile, "ready-file", "", "also write the stack's description to this file once it is ready")
	f.StringVar(&tier, "tier", "embedded", "where the stack runs: "+tierHelp())
	settings = addTierFlags(f)
	f.BoolVar(&kube, "kube", false, "on --tier local, also start etcd, kube-apiserver and kube-controller-manager, which the KFP API stand-in authorizes against (kubeconfig in the description)")
	profileFileAlias(cmd)
	return cmd
}
