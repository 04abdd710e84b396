package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// clusterFlags say which cluster a server that runs in a pod talks to (kfp-standin, poddefault-webhook).
type clusterFlags struct {
	Kubeconfig, Context string
	Timeout             time.Duration
}

// add binds the flags; what says what the cluster is for, timeoutUse what each request is.
func (c *clusterFlags) add(f *pflag.FlagSet, what string, timeout time.Duration, timeoutUse string) {
	f.StringVar(&c.Kubeconfig, "kubeconfig", "", what+" (default: the pod's in-cluster credentials)")
	f.StringVar(&c.Context, "context", "", "the kubeconfig context (default: its current one)")
	f.DurationVar(&c.Timeout, "timeout", timeout, "time limit of each "+timeoutUse)
}

// client is a client for the cluster: the kubeconfig where given, else the pod's in-cluster credentials; every
// request bounded by the timeout.
func (c clusterFlags) client() (kubernetes.Interface, error) {
	if c.Kubeconfig != "" {
		return target.KubeClient(c.Kubeconfig, c.Context, c.Timeout)
	}
	rc, err := c.restConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(rc)
}

// restConfig is the cluster's client configuration, chosen as client chooses it.
func (c clusterFlags) restConfig() (*rest.Config, error) {
	if c.Kubeconfig != "" {
		return target.KubeRESTConfig(c.Kubeconfig, c.Context, c.Timeout)
	}
	rc, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("no --kubeconfig and no in-cluster credentials: %w", err)
	}
	rc.Timeout, rc.QPS, rc.Burst = c.Timeout, 50, 300
	return rc, nil
}

// serveUntilDone serves h on lis (TLS with tlsConf where given) the way the stacks serve their listeners, until
// ctx ends (SIGINT or SIGTERM), then stops it gracefully.
func serveUntilDone(ctx context.Context, lis net.Listener, h http.Handler, tlsConf *tls.Config) error {
	stop := components.Serve(lis, h, tlsConf)
	<-ctx.Done()
	return stop()
}
