package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// kfpStandIn is what `kfp-authcheck component kfp-standin` serves.
type kfpStandIn struct {
	Profile string
	Listen  string
	// GatewayListen serves the pipeline UI and the dashboard stand-in the gateway routes to ("" for none).
	GatewayListen string
	NoMesh        bool
	clusterFlags
}

// newKFPStandInCmd serves the KFP API stand-in as ml-pipeline answers inside a cluster: the kind tier runs it as
// a Deployment from the project's image, and a person can run it against any cluster with --kubeconfig.
func newKFPStandInCmd(stderr io.Writer) *cobra.Command {
	o := kfpStandIn{}
	cmd := &cobra.Command{
		Use:   "kfp-standin",
		Short: "Serve the KFP API stand-in as ml-pipeline:8888 answers in a cluster (TokenReview and SubjectAccessReview against it)",
		Long: `kfp-standin serves the project's KFP API stand-in (mocks/kfpapi) for one profile the way the in-cluster
ml-pipeline service answers: a ServiceAccount token is authenticated with a TokenReview (audience
pipelines.kubeflow.org) and every request authorized with a SubjectAccessReview (user only), both against the
Kubernetes API it runs in (in-cluster credentials; --kubeconfig to use another), and, for a multi-user profile,
behind a stand-in for Kubeflow's Istio policy that refuses an identity header sent from inside the cluster
(--no-mesh leaves it out). With --gateway-listen it also serves, from the same store, what the ingress gateway
routes a browser or a machine token to: ml-pipeline-ui under /pipeline (the API through it) and the central
dashboard stand-in, believing the identity header the gateway sets (in a mesh only the gateway reaches ml-pipeline-ui
with one; the kind manifest allows only the gateway's pods to that port). Its store is in memory. The kind tier
deploys it from the project's image (clusters/kind/manifests/kind-kfp-standin.yaml). It serves until SIGINT or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lis, err := net.Listen("tcp", o.Listen)
			if err != nil {
				return usageErr("--listen %s: %v", o.Listen, err)
			}
			var gwLis net.Listener
			if o.GatewayListen != "" {
				if gwLis, err = net.Listen("tcp", o.GatewayListen); err != nil {
					lis.Close()
					return usageErr("--gateway-listen %s: %v", o.GatewayListen, err)
				}
			}
			return o.serve(cmd.Context(), lis, gwLis, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Profile, "profile", "kubeflow", "the server profile whose KFP it stands in for")
	f.StringVar(&o.Listen, "listen", "127.0.0.1:0", "the address to serve on (the kind manifest gives :8888, the port of Kubeflow's ml-pipeline; the default picks a free loopback port and prints it)")
	f.StringVar(&o.GatewayListen, "gateway-listen", "", "also serve the pipeline UI and dashboard the gateway routes to, on this address (the kind manifest gives :3000, behind Service ml-pipeline-ui:80; default: not served)")
	f.BoolVar(&o.NoMesh, "no-mesh", false, "serve without the stand-in for Kubeflow's Istio policy (an identity header from inside the cluster is then believed)")
	o.clusterFlags.add(f, "the cluster to authenticate and authorize against", 15*time.Second, "TokenReview and SubjectAccessReview")
	return cmd
}

// serve runs the stand-in on lis (and the gateway's side on gwLis, where given) until ctx ends.
func (o kfpStandIn) serve(ctx context.Context, lis, gwLis net.Listener, stderr io.Writer) error {
	defer lis.Close()
	if gwLis != nil {
		defer gwLis.Close()
	}
	p, err := profile.Get(o.Profile)
	if err != nil {
		return usageErr("%v", err)
	}
	var kube kubernetes.Interface
	if p.MultiUser {
		if kube, err = o.client(); err != nil {
			return usageErr("%v", err)
		}
	}
	kfp, err := components.NewInClusterKFP(p, kube, "kfp-standin")
	if err != nil {
		return err
	}
	h, mesh := components.InClusterHandler(p, kfp), "behind the Istio policy stand-in"
	if o.NoMesh || !p.MultiUser {
		h, mesh = kfp.APIHandler(), "without the Istio policy stand-in"
	}
	fmt.Fprintf(stderr, "kfp-standin: the KFP API stand-in of profile %s (KFP %s) on %s, %s\n", p.Name, p.KFP.Version, lis.Addr(), mesh)
	if gwLis != nil {
		fmt.Fprintf(stderr, "kfp-standin: ml-pipeline-ui and the dashboard, for the gateway, on %s\n", gwLis.Addr())
		stop := components.Serve(gwLis, components.Upstream(kfp), nil)
		defer stop()
	}
	return serveUntilDone(ctx, lis, h, nil)
}
