package checks

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/kube"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// TestVerbMatrixCatchesBrokenStandInRBAC: RBAC-003's expectation comes from the independent evaluator, not from
// the Kubernetes stand-in, so on the embedded tier it passes while the stand-in's RBAC is right and fails once
// the stand-in's rule matching ignores verbs (kubeflow-view then allows create, delete, ...). Before the evaluator
// the check compared the stand-in's rule matching with itself and could not fail.
func TestVerbMatrixCatchesBrokenStandInRBAC(t *testing.T) {
	p, err := profile.Get("kubeflow")
	if err != nil {
		t.Fatal(err)
	}
	s, err := embedded.Start(context.Background(), p, embedded.Options{})
	if err != nil {
		t.Fatalf("start stack: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if s.Kube == nil {
		t.Fatal("the kubeflow profile's stack has no Kubernetes stand-in")
	}
	env := NewEnv(s.Target())
	t.Cleanup(func() { env.CloseFixtures() })

	if r := runCheck(t, env, "RBAC-003"); r.Status != result.Pass {
		t.Fatalf("with the stand-in's RBAC intact: %s %s: %s", r.Status, r.Reason, r.Message)
	}

	s.Kube.SetRuleMatcher(func(a kube.Attributes, r *rbacv1.PolicyRule) bool {
		if len(r.Verbs) > 0 {
			a.Verb = r.Verbs[0] // any verb the rule names stands for every verb
		}
		return kube.RuleAllows(a, r)
	})
	r := runCheck(t, env, "RBAC-003")
	if r.Status != result.Fail || r.Reason != result.K8sRBAC {
		t.Fatalf("with rule matching that ignores verbs: %s %s: %s; want fail %s", r.Status, r.Reason, r.Message, result.K8sRBAC)
	}
	if !strings.Contains(r.Message, "under view: the cluster says true") {
		t.Errorf("the failure does not name a write kubeflow-view was granted: %s", r.Message)
	}
}
