package kind_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/kind"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/poddefault"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// TestPrerequisites proves the pod checks can fail on kind: each runs once with its prerequisite removed (it must
// fail) and once with it in place (it must pass, so the failure was the prerequisite's). SA-001 in a pod loses
// the default-editor RoleBinding of the namespace it makes for its probe Job (the check re-applies Kubeflow's
// ClusterRoles itself, so the binding is what can go); SA-007 loses the PodDefault webhook's registration.
func TestPrerequisites(t *testing.T) {
	sa001 := features.New("SA-001 without its RoleBinding").WithLabel("family", "SA").WithLabel("check", "SA-001").
		WithLabel("kind", "prerequisite").
		Assess("fails when default-editor's RoleBinding is deleted, passes when it stays", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			s := fromContext(ctx, t)
			if s.env.Target.ProbeImage == "" {
				t.Skip("no probe image: SA-001 does not run in a pod here")
			}
			// The check makes its own profile namespace (RoleBinding default-editor -> kubeflow-edit) for the probe
			// Job: a watch deletes that RoleBinding as soon as it appears, before the Job's pod asks the KFP API.
			deleted := deleteRoleBindings(ctx, t, s.env.Target.Kube, "default-editor", fixturePrefix)
			expectStatus(ctx, t, s, "SA-001", result.Fail)
			if n := deleted(); n == 0 {
				t.Error("the watch deleted no RoleBinding: the failure above is not the prerequisite's")
			}
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
			// The releases ship no PodDefault for KFP's token (SA-007 fails as shipped: PODDEFAULT_MISSING); an
			// operator following Kubeflow's docs creates access-ml-pipeline in each profile namespace. Do that
			// where the namespace has none, so what the two halves below differ by is the webhook alone.
			addKFPTokenPodDefaults(ctx, t, s)
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

// addKFPTokenPodDefaults creates Kubeflow's documented access-ml-pipeline PodDefault in each user's profile
// namespace that has no PodDefault projecting KFP's token, and deletes what it made when the test ends.
func addKFPTokenPodDefaults(ctx context.Context, t *testing.T, s *suite) {
	t.Helper()
	c := s.env.Target.Kube
	rc := c.Discovery().RESTClient()
	seen := map[string]bool{}
	for _, u := range s.env.Target.Users {
		ns := u.Namespace
		if ns == "" || seen[ns] {
			continue
		}
		seen[ns] = true
		pds, err := fixtures.ListPodDefaults(ctx, rc, ns)
		if err != nil {
			t.Fatalf("PodDefaults in %s: %v", ns, err)
		}
		if has := slices.ContainsFunc(pds, func(pd fixtures.PodDefault) bool { return pd.Name == "access-ml-pipeline" }); has {
			continue
		}
		if err := poddefault.ApplyKFPToken(ctx, c, ns, "access-ml-pipeline", "access-ml-pipeline"); err != nil {
			t.Fatal(err)
		}
		t.Logf("created PodDefault %s/access-ml-pipeline (the release ships none)", ns)
		t.Cleanup(func() {
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := rc.Delete().AbsPath(fixtures.PodDefaultCollectionPath(ns), "access-ml-pipeline").Do(dctx).Error(); err != nil {
				t.Errorf("delete PodDefault %s/access-ml-pipeline: %v", ns, err)
			}
		})
	}
	if len(seen) == 0 {
		t.Skip("no user of the target names a profile namespace")
	}
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

// fixturePrefix begins the names of the namespaces the checks make for themselves.
const fixturePrefix = "kfp-authcheck-"

// deleteRoleBindings deletes every RoleBinding called name that appears in a namespace beginning with prefix, until
// the returned function is called; that function says how many it deleted.
func deleteRoleBindings(ctx context.Context, t *testing.T, c kubernetes.Interface, name, prefix string) func() int {
	t.Helper()
	wctx, cancel := context.WithCancel(ctx)
	w, err := c.RbacV1().RoleBindings("").Watch(wctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		cancel()
		t.Fatalf("watch RoleBindings %s: %v", name, err)
	}
	var n atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			rb, ok := ev.Object.(*rbacv1.RoleBinding)
			if !ok || ev.Type != watch.Added || !strings.HasPrefix(rb.Namespace, prefix) {
				continue
			}
			dctx, dcancel := context.WithTimeout(wctx, 10*time.Second)
			err := c.RbacV1().RoleBindings(rb.Namespace).Delete(dctx, rb.Name, metav1.DeleteOptions{})
			dcancel()
			if err == nil {
				n.Add(1)
				t.Logf("deleted RoleBinding %s/%s", rb.Namespace, rb.Name)
			}
		}
	}()
	return func() int {
		w.Stop()
		cancel()
		<-done
		return int(n.Load())
	}
}
