package local

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/kube"
)

// TestAggregateClusterRoles: Kubeflow's roles (aggregation only) get the rules of their parts, nested ones
// included, so kubeflow-edit allows creating experiments and kubeflow-view only reading them; a second pass
// changes nothing.
func TestAggregateClusterRoles(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	if err := fixtures.NewKube(client).Apply(ctx, fixtures.KubeflowRoles, nil); err != nil {
		t.Fatal(err)
	}
	if err := AggregateClusterRoles(ctx, client); err != nil {
		t.Fatal(err)
	}
	get := func(name string) *rbacv1.ClusterRole {
		cr, err := client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return cr
	}
	allows := func(role, verb string) bool {
		a := kube.Attributes{Verb: verb, APIGroup: "pipelines.kubeflow.org", Resource: "experiments", Namespace: "ns",
			ResourceRequest: true}
		cr := get(role)
		for i := range cr.Rules {
			if kube.RuleAllows(a, &cr.Rules[i]) {
				return true
			}
		}
		return false
	}
	for _, tc := range []struct {
		role, verb string
		want       bool
	}{
		{"kubeflow-edit", "create", true}, {"kubeflow-edit", "list", true},
		{"kubeflow-view", "list", true}, {"kubeflow-view", "create", false},
		{"kubeflow-admin", "create", true},
	} {
		if got := allows(tc.role, tc.verb); got != tc.want {
			t.Errorf("%s %s experiments: %v, want %v", tc.role, tc.verb, got, tc.want)
		}
	}
	before := get("kubeflow-edit").Rules
	if err := AggregateClusterRoles(ctx, client); err != nil {
		t.Fatal(err)
	}
	if after := get("kubeflow-edit").Rules; len(after) != len(before) {
		t.Errorf("a second aggregation changed kubeflow-edit: %d rules, then %d", len(before), len(after))
	}
}

// TestKFPOption: the KFP API choices and the environment variable.
func TestKFPOption(t *testing.T) {
	for _, v := range []string{"", KFPStandIn, KFPReal, KFPRealNoMesh} {
		if err := checkKFP(v); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
	if err := checkKFP("mock"); err == nil {
		t.Error(`"mock" accepted`)
	}
	t.Setenv(KFPEnv, "")
	if v, err := KFPFromEnv(); v != KFPStandIn || err != nil {
		t.Errorf("unset: %q %v, want the stand-in", v, err)
	}
	t.Setenv(KFPEnv, "bogus")
	if _, err := KFPFromEnv(); err == nil {
		t.Error("bogus value accepted")
	}
	s := &Stack{}
	opts := Options{KFP: KFPRealNoMesh}
	if err := s.prepareKFP(&opts); err != nil || !opts.Kube || s.kfp == nil || !s.kfp.noMesh {
		t.Errorf("real-no-mesh: err %v, kube %v, backend %+v", err, opts.Kube, s.kfp)
	}
}
