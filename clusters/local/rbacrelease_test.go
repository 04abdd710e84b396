package local

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// TestRBAC003FollowsTheRelease: a real kube-apiserver holds a release's own ClusterRoles (applied at stack start
// from the release's roles fixture, aggregated by kube-controller-manager). RBAC-003 passes on that correct
// install, whichever spelling of pipeline versions the release ships (KFP asks for "pipelines" in all of them),
// and fails once kubeflow-edit loses KFP's write rules (aggregate-to-kubeflow-pipelines-edit no longer aggregated).
func TestRBAC003FollowsTheRelease(t *testing.T) {
	requireTools(t, "etcd", "kube-apiserver", "kube-controller-manager")
	for _, rel := range []struct{ profile, spelling string }{
		{"kubeflow-1.10", "pipelines/versions"},
		{"kubeflow-1.11", "pipelineversions"},
	} {
		t.Run(rel.profile, func(t *testing.T) {
			start := time.Now()
			s := startStack(t, rel.profile, Options{Kube: true})
			t.Logf("%s stack with kube-apiserver and kube-controller-manager up in %s", rel.profile, time.Since(start).Round(time.Millisecond))
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			roles := s.kube.client.RbacV1().ClusterRoles()
			const part = "aggregate-to-kubeflow-pipelines-edit"
			cr, err := roles.Get(ctx, part, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !ruleNames(cr.Rules, rel.spelling) {
				t.Fatalf("%s does not hold the release's %s: %v", part, rel.spelling, cr.Rules)
			}
			c, ok := checks.Get("RBAC-003")
			if !ok {
				t.Fatal("no RBAC-003")
			}
			run := func() result.Result {
				env := checks.NewEnv(s.Target())
				defer func() {
					if fc := env.CloseFixtures(); fc != nil && fc.Error != "" {
						t.Errorf("fixtures: %s", fc.Error)
					}
				}()
				began := time.Now()
				r := checks.RunOne(ctx, env, c, 2*time.Minute)
				t.Logf("RBAC-003 %s in %s: %s", r.Status, time.Since(began).Round(time.Millisecond), r.Message)
				return r
			}
			if r := run(); r.Status != result.Pass {
				t.Fatalf("RBAC-003 on %s's own ClusterRoles: %s %s: %s", rel.profile, r.Status, r.Reason, r.Message)
			}

			// kubeflow-edit loses KFP's write rules: the part is no longer selected, and kube-controller-manager
			// takes its rules out of kubeflow-pipelines-edit and so out of kubeflow-edit.
			delete(cr.Labels, "rbac.authorization.kubeflow.org/aggregate-to-kubeflow-pipelines-edit")
			if _, err := roles.Update(ctx, cr, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			pollUntil(ctx, t, "kubeflow-edit without create on runs", func() (bool, error) {
				edit, err := roles.Get(ctx, "kubeflow-edit", metav1.GetOptions{})
				if err != nil {
					return false, err
				}
				return !ruleGrants(edit.Rules, "runs", "create"), nil
			})
			r := run()
			if r.Status != result.Fail || r.Reason != result.K8sRBAC {
				t.Fatalf("RBAC-003 with kubeflow-edit short of KFP's writes: %s %s: %s; want fail %s", r.Status, r.Reason, r.Message, result.K8sRBAC)
			}
			if want := fmt.Sprintf("create runs.%s under edit", kfpGroup); !strings.Contains(r.Message, want) {
				t.Errorf("the failure does not name %q: %s", want, r.Message)
			}
		})
	}
}

func ruleNames(rules []rbacv1.PolicyRule, resource string) bool {
	for _, r := range rules {
		if slices.Contains(r.Resources, resource) {
			return true
		}
	}
	return false
}

func ruleGrants(rules []rbacv1.PolicyRule, resource, verb string) bool {
	for _, r := range rules {
		if slices.Contains(r.Resources, resource) && (slices.Contains(r.Verbs, verb) || slices.Contains(r.Verbs, "*")) {
			return true
		}
	}
	return false
}
