package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// gatewayCmd is what `kfp-authcheck component gateway` serves.
type gatewayCmd struct {
	Profile                  string
	Listen, AppsListen       string
	Issuer, Dex, OAuth2Proxy string
	Apps                     string
	CertFile, KeyFile        string
	clusterFlags
}

// newGatewayCmd serves the ingress gateway stand-in in front of a real Dex and oauth2-proxy: the kind tier runs it
// as istio-ingressgateway from the project's image.
func newGatewayCmd(stderr io.Writer) *cobra.Command {
	o := gatewayCmd{}
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Serve the ingress gateway stand-in in front of a real Dex and oauth2-proxy (the kind tier's istio-ingressgateway)",
		Long: `gateway serves, on --listen, the one origin a browser and the SDK see, routed as Kubeflow's
VirtualServices and Istio policies route it (the same composition as the local tier's): /dex/ to Dex (--dex),
everything else through oauth2-proxy (--oauth2-proxy, run in reverse-proxy mode), with deployKF's per-path
audience rule in front where the profile has it. For a profile with a mesh (kubeflow 1.9+) a request with an
Authorization header skips oauth2-proxy and is judged by the Istio jwt_authn stand-in: Dex's tokens (issuer
--issuer, keys from --dex) and the cluster's ServiceAccount tokens (keys from the Kubernetes API's
/openid/v1/jwks, read with in-cluster credentials or --kubeconfig), the claims becoming the identity header.

On --apps-listen it serves oauth2-proxy's upstream: the identity header set from oauth2-proxy's
X-Forwarded-Email (a client's own value dropped), forwarded to --apps, where ml-pipeline-ui and the dashboard
answer (kfp-standin --gateway-listen). For a gateway with no real program here (kubeflow-1.8's oidc-authservice)
the front is the project's stand-in for it instead of oauth2-proxy (it redeems codes at --dex and sets the identity
header itself; no --oauth2-proxy). With --tls-cert-file and --tls-key-file the front serves TLS (an https
profile). It serves until SIGINT or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			front, apps, err := o.handlers()
			if err != nil {
				return err
			}
			var tlsConf *tls.Config
			if o.CertFile != "" || o.KeyFile != "" {
				cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
				if err != nil {
					return usageErr("--tls-cert-file/--tls-key-file: %v", err)
				}
				tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
			}
			lis, err := net.Listen("tcp", o.Listen)
			if err != nil {
				return usageErr("--listen %s: %v", o.Listen, err)
			}
			appsLis, err := net.Listen("tcp", o.AppsListen)
			if err != nil {
				lis.Close()
				return usageErr("--apps-listen %s: %v", o.AppsListen, err)
			}
			fmt.Fprintf(stderr, "gateway: profile %s on %s (issuer %s, Dex %s, oauth2-proxy %s); oauth2-proxy's upstream on %s -> %s\n",
				o.Profile, lis.Addr(), o.Issuer, o.Dex, o.OAuth2Proxy, appsLis.Addr(), o.Apps)
			stop := components.Serve(appsLis, apps, nil)
			defer stop()
			return serveUntilDone(cmd.Context(), lis, front, tlsConf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Profile, "profile", "kubeflow", "the server profile whose gateway it stands in for (one with a gateway)")
	f.StringVar(&o.Listen, "listen", "127.0.0.1:0", "the front's address (the kind manifest gives :8080)")
	f.StringVar(&o.AppsListen, "apps-listen", "127.0.0.1:0", "the address of oauth2-proxy's upstream (the kind manifest gives :8081)")
	f.StringVar(&o.Issuer, "issuer", "", "Dex's issuer URL, as the browser and the tokens name it (required)")
	f.StringVar(&o.Dex, "dex", "", "Dex's own address with its path, for /dex/ and its keys (required; e.g. http://dex.auth.svc.cluster.local:5556/dex)")
	f.StringVar(&o.OAuth2Proxy, "oauth2-proxy", "", "oauth2-proxy's address (required for a profile with an oauth2-proxy gateway; e.g. http://oauth2-proxy.oauth2-proxy.svc.cluster.local)")
	f.StringVar(&o.Apps, "apps", "", "where ml-pipeline-ui and the dashboard answer (required; e.g. http://ml-pipeline-ui.kubeflow.svc.cluster.local)")
	f.StringVar(&o.CertFile, "tls-cert-file", "", "the front's serving certificate (PEM), for an https profile")
	f.StringVar(&o.KeyFile, "tls-key-file", "", "its private key (PEM)")
	o.clusterFlags.add(f, "the cluster whose ServiceAccount keys the mesh stand-in reads", 10*time.Second, "key set fetch")
	return cmd
}

// handlers builds the front and oauth2-proxy's upstream from the flags.
func (o gatewayCmd) handlers() (front, apps http.Handler, err error) {
	p, err := profile.Get(o.Profile)
	if err != nil {
		return nil, nil, usageErr("%v", err)
	}
	var keys *http.Client
	var kubeAPI string
	if p.Gateway != nil && p.Gateway.Mesh != nil {
		rc, err := o.restConfig()
		if err != nil {
			return nil, nil, usageErr("the mesh needs the cluster's keys: %v", err)
		}
		if keys, err = rest.HTTPClientFor(rc); err != nil {
			return nil, nil, fmt.Errorf("a client for %s: %w", rc.Host, err)
		}
		keys.Timeout, kubeAPI = o.Timeout, rc.Host
	}
	front, apps, err = components.Gateway(p, components.GatewayConfig{Issuer: o.Issuer, Dex: o.Dex, OAuth2Proxy: o.OAuth2Proxy,
		Apps: o.Apps, KubeAPI: kubeAPI, KubeClient: keys})
	if err != nil {
		return nil, nil, usageErr("%v", err)
	}
	return front, apps, nil
}
