package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/auth/satoken"
	"github.com/kfp-authcheck/kfp-authcheck/kfpapi"
)

// TestKFPStandInAgainstAKubernetesAPI runs `kfp-standin` against the embedded stack's Kubernetes API (as the kind
// tier runs it against the cluster's): the profile namespace's default-editor lists there, is refused in another
// namespace, a forged identity header meets the Istio policy stand-in, and the server stops with its context. Its
// gateway side (--gateway-listen) believes the identity header, under /pipeline, from the same store.
func TestKFPStandInAgainstAKubernetesAPI(t *testing.T) {
	p, tg := kubeflowStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gwLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr, log, stop := serveInBackground(t, ctx, func(ctx context.Context, lis net.Listener, log io.Writer) error {
		return kfpStandIn{Profile: "kubeflow", clusterFlags: clusterFlags{Kubeconfig: tg.Kubeconfig, Timeout: 10 * time.Second}}.serve(ctx, lis, gwLis, log)
	})
	ns := p.KFP.Namespaces[0].Name
	m, err := satoken.Mint(ctx, tg.Kube, ns, "default-editor", []string{satoken.Audience}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	c := &kfpapi.Client{BaseURL: base, Header: http.Header{"Authorization": {"Bearer " + m.Token}}}
	if _, err := c.ListExperiments(ctx, ns); err != nil {
		t.Fatalf("default-editor listing its own namespace: %v", err)
	}
	if _, err := c.ListExperiments(ctx, "someone-elses"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("another namespace: %v, want 403", err)
	}
	forged := &kfpapi.Client{BaseURL: base, Header: http.Header{"Kubeflow-Userid": {"user@example.com"}}}
	_, err = forged.ListExperiments(ctx, ns)
	var ae *kfpapi.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusForbidden || !strings.Contains(string(ae.Body), "RBAC: access denied") {
		t.Errorf("a forged identity header: %v, want Envoy's 403", err)
	}
	owner := p.Users[0]
	viaGateway := &kfpapi.Client{BaseURL: "http://" + gwLis.Addr().String() + "/pipeline",
		Header: http.Header{"Kubeflow-Userid": {p.KFP.UserIDPrefix + owner.Email}}}
	if _, err := viaGateway.ListExperiments(ctx, owner.Namespace); err != nil {
		t.Errorf("%s through the gateway side, own namespace %s: %v", owner.Email, owner.Namespace, err)
	}
	if _, err := viaGateway.ListExperiments(ctx, "someone-elses"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("through the gateway side, another namespace: %v, want 403", err)
	}
	if strings.Contains(log.String(), m.Token) || !strings.Contains(log.String(), "behind the Istio policy stand-in") {
		t.Errorf("log: %q", log.String())
	}
	stop()
}

func TestKFPStandInUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"component", "kfp-standin", "--profile", "nope"},
		{"component", "kfp-standin", "--listen", "not-an-address"},
	} {
		var out, errOut bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		code := execute(ctx, args, &out, &errOut)
		cancel()
		if code != exitUsage || !strings.Contains(errOut.String(), "kfp-authcheck:") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut.String())
		}
	}
}

// serveInBackground runs a server command's serve on a loopback listener until the returned stop, which cancels
// it and fails the test unless it ends, without error, within 15 s.
func serveInBackground(t *testing.T, ctx context.Context, serve func(context.Context, net.Listener, io.Writer) error) (string, *bytes.Buffer, func()) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- serve(sctx, lis, &log) }()
	return lis.Addr().String(), &log, func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the server did not stop with its context")
		}
	}
}
