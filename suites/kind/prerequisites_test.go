package kind_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/kind"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// TestPrerequisites proves the pod checks can fail on kind: each runs once with its prerequisite removed (it must
// fail) and once after it is put back (it must pass again, so the failure was the prerequisite's). SA-001 in a pod
// loses the grant its pod's ServiceAccount has through the default-editor RoleBinding (KFP's edit ClusterRole,
// aggregated into kubeflow-edit, which the RoleBinding names); SA-007 loses the PodDefault webhook's registration.
func TestPrerequisites(t *testing.T) {
	sa001 := features.New("SA-001 without its RoleBinding's grant").WithLabel("family", "SA").WithLabel("check", "SA-001").
		WithLabel("kind", "prerequisite").
		Assess("fails without kubeflow-pipelines-edit, passes with it back", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			s := fromContext(ctx, t)
			c := s.env.Target.Kube
			if s.env.Target.ProbeImage == "" {
				t.Skip("no probe image: SA-001 does not run in a pod here")
			}
			const role = "kubeflow-pipelines-edit"
			if err := c.RbacV1().ClusterRoles().Delete(ctx, role, metav1.DeleteOptions{}); err != nil {
				t.Fatalf("delete %s: %v", role, err)
			}
			restored := false
			defer func() {
				if !restored {
					_ = fixtures.NewKube(c).Apply(context.Background(), fixtures.KubeflowRoles, nil)
				}
			}()
			waitAggregated(ctx, t, c, false)
			expectStatus(ctx, t, s, "SA-001", result.Fail)
			if err := fixtures.NewKube(c).Apply(ctx, fixtures.KubeflowRoles, nil); err != nil {
				t.Fatalf("put %s back: %v", role, err)
			}
			restored = true
			waitAggregated(ctx, t, c, true)
			expectStatus(ctx, t, s, "SA-001", result.Pass)
			return ctx
		}).Feature()

	sa007 := features.New("SA-007 without the PodDefault webhook").WithLabel("family", "SA").WithLabel("check", "SA-007").
		WithLabel("kind", "prerequisite").
		Assess("fails without the webhook, passes with it back", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			s := fromContext(ctx, t)
			c := s.env.Target.Kube
			hooks := c.AdmissionregistrationV1().MutatingWebhookConfigurations()
			hook, err := hooks.Get(ctx, kind.PodDefaultHook, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				t.Skip("no PodDefault webhook in this cluster (a profile without multi-user)")
			}
			if err != nil {
				t.Fatal(err)
			}
			again := func() {
				saved := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: hook.Name, Labels: hook.Labels},
					Webhooks: hook.Webhooks}
				if _, err := hooks.Create(context.Background(), saved, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
					t.Errorf("put the webhook back: %v", err)
				}
			}
			if err := hooks.Delete(ctx, hook.Name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			restored := false
			defer func() {
				if !restored {
					again()
				}
			}()
			r := expectStatus(ctx, t, s, "SA-007", result.Fail)
			if r.Reason != result.PodDefaultNotApplied {
				t.Errorf("SA-007 without the webhook: reason %s, want %s", r.Reason, result.PodDefaultNotApplied)
			}
			again()
			restored = true
			expectStatus(ctx, t, s, "SA-007", result.Pass)
			return ctx
		}).Feature()

	testenv.Test(t, sa001, sa007)
}

func expectStatus(ctx context.Context, t *testing.T, s *suite, id string, want result.Status) result.Result {
	t.Helper()
	for _, c := range checks.All() {
		if c.ID == id {
			r := checks.RunOne(ctx, s.env, c, 3*time.Minute)
			if r.Status != want {
				t.Errorf("%s: %s (%s) %s, want %s", id, r.Status, r.Reason, r.Message, want)
			} else {
				t.Logf("%s: %s (%s) %s", id, r.Status, r.Reason, r.Message)
			}
			return r
		}
	}
	t.Fatalf("no check %s", id)
	return result.Result{}
}

// waitAggregated waits until kube-controller-manager's aggregation shows (or no longer shows) KFP's rule to create experiments in
// kubeflow-edit, the ClusterRole the default-editor RoleBinding names.
func waitAggregated(ctx context.Context, t *testing.T, c kubernetes.Interface, present bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		r, err := c.RbacV1().ClusterRoles().Get(ctx, "kubeflow-edit", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return hasPipelines(r.Rules) == present, nil
	})
	if err != nil {
		t.Fatal(fmt.Errorf("kubeflow-edit's KFP rules present=%v: %w", present, err))
	}
}

// hasPipelines: the rules let one create experiments in KFP's API group, as SA-001 does (kubeflow-view, also
// aggregated into kubeflow-edit, keeps get and list, and create on visualizations only).
func hasPipelines(rules []rbacv1.PolicyRule) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, "pipelines.kubeflow.org") &&
			(slices.Contains(r.Resources, "experiments") || slices.Contains(r.Resources, "*")) &&
			(slices.Contains(r.Verbs, "create") || slices.Contains(r.Verbs, "*")) {
			return true
		}
	}
	return false
}
