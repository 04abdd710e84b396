package local

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/internal/selfca"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/poddefault"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// TestPodDefaultMutationOnKubeAPIServer is SA-007 through the real kube-apiserver's admission chain, with the
// PodDefault webhook stand-in registered as Kubeflow registers its own: it passes on the kubeflow and deploykf
// profiles (each with its own PodDefault name and label); with the webhook unregistered the pods are admitted
// bare (PODDEFAULT_NOT_APPLIED); with the webhook unreachable and failurePolicy Fail they are refused (the same
// reason, naming the webhook); without the PodDefault it is PODDEFAULT_MISSING. SA-010 passes alongside.
func TestPodDefaultMutationOnKubeAPIServer(t *testing.T) {
	requireTools(t, "etcd", "kube-apiserver", "kube-controller-manager")
	// No default install ships the PodDefault: kubeflow/manifests' CI applies access-ml-pipeline, deployKF
	// generates kubeflow-pipelines-api-token with kfpApiTokenPodDefault: true.
	podDefaults := map[string]*profile.PodDefault{
		"kubeflow-1.10-kind": {Name: "access-ml-pipeline", Label: "access-ml-pipeline"},
		"deploykf":           {Name: "kubeflow-pipelines-api-token", Label: "kubeflow-pipelines-api-token"},
	}
	for _, name := range []string{"kubeflow-1.10-kind", "deploykf"} {
		t.Run(name, func(t *testing.T) {
			p, err := profile.Get(name)
			if err != nil {
				t.Fatal(err)
			}
			p.KFP.PodDefault = podDefaults[name]
			s := startProfile(t, p, Options{Kube: true})
			tg := s.Target()
			if !tg.Has(target.CapAdmission) {
				t.Fatalf("the local target with kube-apiserver does not offer %s", target.CapAdmission)
			}
			env := checks.NewEnv(tg)
			run := func(id string) result.Result {
				c, _ := checks.Get(id)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				return checks.RunOne(ctx, env, c, time.Minute)
			}
			for _, id := range []string{"SA-007", "SA-010"} {
				if r := run(id); r.Status != result.Pass {
					t.Fatalf("%s: %s %s (%s)", id, r.Status, r.Reason, r.Message)
				}
			}
			if r := run("SA-007"); !strings.Contains(r.Message, s.Profile.KFP.PodDefault.Name) {
				t.Errorf("SA-007 does not name the PodDefault %s: %s", s.Profile.KFP.PodDefault.Name, r.Message)
			}
			if name != "kubeflow-1.10-kind" {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			hooks := tg.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations()
			// until polls a check until it gives the reason (kube-apiserver sees a webhook change through its
			// informers, a moment after the write).
			until := func(id string, reason result.Reason, msg string) {
				t.Helper()
				var last result.Result
				err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
					last = run(id)
					return last.Reason == reason && strings.Contains(last.Message, msg), nil
				})
				if err != nil {
					t.Fatalf("%s: got %s %s (%s), want %s with %q", id, last.Status, last.Reason, last.Message, reason, msg)
				}
				if last.Status != result.Fail {
					t.Fatalf("%s: %s, want fail", id, last.Status)
				}
			}
			if err := hooks.Delete(ctx, WebhookConfigName, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			until("SA-007", result.PodDefaultNotApplied, "no projected token volume")

			// Registered, but nobody answers at its address: failurePolicy Fail refuses the pods.
			ca, err := selfca.New()
			if err != nil {
				t.Fatal(err)
			}
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			gone := "https://" + lis.Addr().String() + poddefault.Path
			lis.Close()
			if err := poddefault.Register(ctx, tg.Kube, WebhookConfigName, admissionregistrationv1.WebhookClientConfig{URL: &gone, CABundle: ca.CAPEM}); err != nil {
				t.Fatal(err)
			}
			until("SA-007", result.PodDefaultNotApplied, "refused by an admission webhook")

			ns := tg.Users[0].Namespace
			err = tg.Kube.Discovery().RESTClient().Delete().AbsPath(poddefault.CollectionPath(ns) + "/" + s.Profile.KFP.PodDefault.Name).Do(ctx).Error()
			if err != nil {
				t.Fatal(err)
			}
			until("SA-007", result.PodDefaultMissing, "none projects a token")
		})
	}
}
