package local

import (
	"context"
	"fmt"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
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
	if err := InstallPodDefaultKind(ctx, client); err != nil {
		return err
	}
	rc := client.Discovery().RESTClient()
	hook, err := poddefault.Serve(&poddefault.Webhook{Timeout: 5 * time.Second,
		List: func(ctx context.Context, ns string) ([]poddefault.PodDefault, error) {
			return poddefault.ListIn(ctx, rc, ns)
		}})
	if err != nil {
		return fmt.Errorf("poddefault webhook stand-in: %w", err)
	}
	s.closers = append(s.closers, hook.Close)
	if err := RegisterPodDefaultWebhook(ctx, client, hook.URL, hook.CABundle); err != nil {
		return err
	}
	if p.KFP.PodDefault == nil {
		return nil
	}
	for _, ns := range p.KFP.Namespaces {
		if err := ApplyPodDefault(ctx, client, ns.Name, p.KFP.PodDefault); err != nil {
			return err
		}
	}
	return nil
}

// InstallPodDefaultKind creates the PodDefault CRD where absent and waits until kube-apiserver serves the kind.
func InstallPodDefaultKind(ctx context.Context, client kubernetes.Interface) error {
	docs, err := fixtures.Render(fixtures.PodDefaultCRD, nil)
	if err != nil {
		return err
	}
	body, err := yaml.YAMLToJSON(docs[0])
	if err != nil {
		return err
	}
	rc := client.Discovery().RESTClient()
	err = rc.Post().AbsPath("/apis/apiextensions.k8s.io/v1/customresourcedefinitions").
		SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Error()
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("the PodDefault CRD: %w", err)
	}
	// Established: the kind is served (a list answers), usually within a second.
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := poddefault.ListIn(ctx, rc, metav1.NamespaceDefault)
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("the PodDefault CRD is not served: %w", err)
	}
	return nil
}

// RegisterPodDefaultWebhook registers a PodDefault webhook at url as Kubeflow's manifest registers its own.
func RegisterPodDefaultWebhook(ctx context.Context, client kubernetes.Interface, url string, caBundle []byte) error {
	none := admissionregistrationv1.SideEffectClassNone
	fail := admissionregistrationv1.Fail
	timeout := int32(10)
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: WebhookConfigName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "poddefault.kfp-authcheck.kubeflow.org",
			AdmissionReviewVersions: []string{"v1beta1", "v1"},
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caBundle},
			SideEffects:             &none,
			FailurePolicy:           &fail,
			TimeoutSeconds:          &timeout,
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
				poddefault.ProfileNamespaceLabel: poddefault.ProfileNamespaceValue}},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
		}},
	}
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("the PodDefault webhook's registration: %w", err)
	}
	return nil
}

// ApplyPodDefault creates the profile's KFP-token PodDefault in ns, as Kubeflow's or deployKF's profile
// resources do.
func ApplyPodDefault(ctx context.Context, client kubernetes.Interface, ns string, pd *profile.PodDefault) error {
	docs, err := fixtures.Render(fixtures.PodDefaultKFPToken, map[string]string{"NAME": pd.Name, "NAMESPACE": ns, "LABEL": pd.Label})
	if err != nil {
		return err
	}
	body, err := yaml.YAMLToJSON(docs[0])
	if err != nil {
		return err
	}
	err = client.Discovery().RESTClient().Post().AbsPath(poddefault.CollectionPath(ns)).
		SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Error()
	if err != nil {
		return fmt.Errorf("PodDefault %s/%s: %w", ns, pd.Name, err)
	}
	return nil
}
