package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/poddefault"
)

// podDefaultWebhook is what `kfp-authcheck component poddefault-webhook` serves.
type podDefaultWebhook struct {
	Listen, CertFile, KeyFile string
	clusterFlags
}

// newPodDefaultWebhookCmd serves the stand-in for Kubeflow's PodDefault admission webhook in a cluster: the kind
// tier runs it as a Deployment from the project's image, where Kubeflow's own webhook is not installed.
func newPodDefaultWebhookCmd(stderr io.Writer) *cobra.Command {
	o := podDefaultWebhook{}
	cmd := &cobra.Command{
		Use:   "poddefault-webhook",
		Short: "Serve a stand-in for Kubeflow's PodDefault admission webhook (/apply-poddefault over TLS)",
		Long: `poddefault-webhook serves mocks/poddefault, a stand-in for Kubeflow's admission-webhook: at /apply-poddefault
it answers kube-apiserver's AdmissionReviews for pods with the JSONPatch that applies the namespace's matching
PodDefaults (kubeflow.org/v1alpha1), read from the cluster it runs in (in-cluster credentials; --kubeconfig to use
another). It serves TLS with the given certificate, which the MutatingWebhookConfiguration's caBundle must trust.
The kind tier deploys it from the project's image (clusters/kind/manifests/kind-poddefault-webhook.yaml). It serves
until SIGINT or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
			if err != nil {
				return usageErr("--tls-cert-file/--tls-key-file: %v", err)
			}
			lis, err := net.Listen("tcp", o.Listen)
			if err != nil {
				return usageErr("--listen %s: %v", o.Listen, err)
			}
			return o.serve(cmd.Context(), lis, cert, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", "127.0.0.1:0", "the address to serve TLS on (the kind manifest gives :8443; the default picks a free loopback port and prints it)")
	f.StringVar(&o.CertFile, "tls-cert-file", "/etc/webhook/certs/tls.crt", "the serving certificate (PEM)")
	f.StringVar(&o.KeyFile, "tls-key-file", "/etc/webhook/certs/tls.key", "its private key (PEM)")
	o.clusterFlags.add(f, "the cluster whose PodDefaults it applies", 5*time.Second, "PodDefault listing (kube-apiserver waits 10s for the webhook)")
	return cmd
}

// serve runs the webhook on lis until ctx ends.
func (o podDefaultWebhook) serve(ctx context.Context, lis net.Listener, cert tls.Certificate, stderr io.Writer) error {
	kube, err := o.client()
	if err != nil {
		lis.Close()
		return usageErr("%v", err)
	}
	w := poddefault.ClusterWebhook(kube, o.Timeout, func(format string, args ...any) {
		fmt.Fprintf(stderr, "poddefault-webhook: refused: "+format+"\n", args...)
	})
	fmt.Fprintf(stderr, "poddefault-webhook: serving %s over TLS on %s\n", poddefault.Path, lis.Addr())
	return serveUntilDone(ctx, lis, w, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
}
