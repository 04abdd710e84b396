package main

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/local"
	"github.com/kfp-authcheck/kfp-authcheck/internal/selfca"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/poddefault"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// TestPodDefaultWebhookCommandLocalTier runs `poddefault-webhook` as the kind tier runs it in a pod (certificate
// files, a client for the cluster), here against the local tier's kube-apiserver, registered in place of the
// tier's in-process stand-in: SA-007 passes through it, and once it is gone the pods are refused
// (failurePolicy Fail), so SA-007 really went through the command.
func TestPodDefaultWebhookCommandLocalTier(t *testing.T) {
	s, _ := localCluster(t)
	tg := s.Target()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	ca, err := selfca.New()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, ca.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	addr, log, stop := serveInBackground(t, ctx, func(ctx context.Context, lis net.Listener, log io.Writer) error {
		return podDefaultWebhook{clusterFlags: clusterFlags{Kubeconfig: tg.Kubeconfig, Timeout: 5 * time.Second}}.serve(ctx, lis, cert, log)
	})
	hooks := tg.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations()
	if err := hooks.Delete(ctx, local.WebhookConfigName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	url := "https://" + addr + poddefault.Path
	if err := poddefault.Register(ctx, tg.Kube, "kfp-authcheck-poddefault-command",
		admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca.CAPEM}); err != nil {
		t.Fatal(err)
	}
	env := checks.NewEnv(tg)
	c, _ := checks.Get("SA-007")
	until := func(status result.Status, reason result.Reason) result.Result {
		t.Helper()
		var last result.Result
		_ = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
			last = checks.RunOne(ctx, env, c, time.Minute)
			return last.Status == status && last.Reason == reason, nil
		})
		if last.Status != status || last.Reason != reason {
			t.Fatalf("SA-007: %s %s (%s), want %s %s", last.Status, last.Reason, last.Message, status, reason)
		}
		return last
	}
	until(result.Pass, "")
	stop()
	if r := until(result.Fail, result.PodDefaultNotApplied); !strings.Contains(r.Message, "refused by an admission webhook") {
		t.Errorf("with the webhook gone: %s", r.Message)
	}
	if !strings.Contains(log.String(), "serving /apply-poddefault over TLS") {
		t.Errorf("log: %q", log.String())
	}
}

func TestPodDefaultWebhookUsageErrors(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runCLI(t, "component", "poddefault-webhook", "--tls-cert-file", filepath.Join(dir, "none.crt"), "--tls-key-file", filepath.Join(dir, "none.key"))
	if code != exitUsage || !strings.Contains(stderr, "--tls-cert-file") {
		t.Errorf("missing certificate files: exit %d, %s", code, stderr)
	}
}
