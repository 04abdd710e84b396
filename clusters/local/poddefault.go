package local

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/internal/selfca"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/poddefault"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// WebhookConfigName is the MutatingWebhookConfiguration the local tier registers for the PodDefault webhook
// stand-in, with the webhook's settings from Kubeflow's manifest (pods CREATE, profile namespaces, fail closed).
const WebhookConfigName = "kfp-authcheck-poddefault-standin"

// startPodDefaults makes kube-apiserver mutate pods as a Kubeflow cluster does: the PodDefault kind, the webhook
// stand-in (mocks/poddefault) registered as a mutating admission webhook, and in each profile namespace the
// profile's PodDefault for KFP's token. A dry-run pod create then shows the mutation (SA-007).
func (s *Stack) startPodDefaults(ctx context.Context, client kubernetes.Interface, p *profile.Profile, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := poddefault.InstallKind(ctx, client); err != nil {
		return err
	}
	ca, err := selfca.New()
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("poddefault webhook stand-in: %w", err)
	}
	s.serve(lis, poddefault.ClusterWebhook(client, 5*time.Second, nil),
		&tls.Config{Certificates: []tls.Certificate{ca.Server}, MinVersion: tls.VersionTLS12})
	url := "https://" + lis.Addr().String() + poddefault.Path
	if err := poddefault.Register(ctx, client, WebhookConfigName,
		admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca.CAPEM}); err != nil {
		return err
	}
	if p.KFP.PodDefault == nil {
		return nil
	}
	for _, ns := range p.KFP.Namespaces {
		if err := poddefault.ApplyKFPToken(ctx, client, ns.Name, p.KFP.PodDefault.Name, p.KFP.PodDefault.Label); err != nil {
			return err
		}
	}
	return nil
}
