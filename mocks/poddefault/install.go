package poddefault

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
)

// InstallKind creates the PodDefault CRD where absent and waits until kube-apiserver serves the kind.
func InstallKind(ctx context.Context, client kubernetes.Interface) error {
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
		_, err := ListIn(ctx, rc, metav1.NamespaceDefault)
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("the PodDefault CRD is not served: %w", err)
	}
	return nil
}

// Register registers a PodDefault webhook, reached as cc says (a URL, or a Service), as MutatingWebhookConfiguration
// name, with the settings of Kubeflow's manifest (pods CREATE, profile namespaces, fail closed).
func Register(ctx context.Context, client kubernetes.Interface, name string, cc admissionregistrationv1.WebhookClientConfig) error {
	none := admissionregistrationv1.SideEffectClassNone
	fail := admissionregistrationv1.Fail
	timeout := int32(10)
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "poddefault.kfp-authcheck.kubeflow.org",
			AdmissionReviewVersions: []string{"v1beta1", "v1"},
			ClientConfig:            cc,
			SideEffects:             &none,
			FailurePolicy:           &fail,
			TimeoutSeconds:          &timeout,
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
				ProfileNamespaceLabel: ProfileNamespaceValue}},
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

// ApplyKFPToken creates a PodDefault that projects KFP's token, named name and selected by label, in ns, as
// Kubeflow's or deployKF's profile resources do.
func ApplyKFPToken(ctx context.Context, client kubernetes.Interface, ns, name, label string) error {
	docs, err := fixtures.Render(fixtures.PodDefaultKFPToken, map[string]string{"NAME": name, "NAMESPACE": ns, "LABEL": label})
	if err != nil {
		return err
	}
	body, err := yaml.YAMLToJSON(docs[0])
	if err != nil {
		return err
	}
	err = client.Discovery().RESTClient().Post().AbsPath(CollectionPath(ns)).
		SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Error()
	if err != nil {
		return fmt.Errorf("PodDefault %s/%s: %w", ns, name, err)
	}
	return nil
}

// ClusterWebhook is the webhook reading PodDefaults from the cluster client talks to, each listing bounded by
// timeout; errorf, when set, hears why a review was refused.
func ClusterWebhook(client kubernetes.Interface, timeout time.Duration, errorf func(string, ...any)) *Webhook {
	rc := client.Discovery().RESTClient()
	return &Webhook{Timeout: timeout, Errorf: errorf,
		List: func(ctx context.Context, ns string) ([]PodDefault, error) { return ListIn(ctx, rc, ns) }}
}
