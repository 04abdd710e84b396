package local

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// applyProfilesRBAC gives the real KFP API server the RBAC a Kubeflow cluster has: Kubeflow's ClusterRoles
// (fixtures/manifests/kubeflow-roles.yaml, aggregated as below) and, for a multi-user profile, each Kubeflow
// Profile (namespace, default-editor/-viewer, the owner as admin, contributors as editors) with the same
// fixtures the other tiers use. A profile namespace that exists already (someone applied it) is left alone.
func applyProfilesRBAC(ctx context.Context, k *Kube, p *profile.Profile) error {
	client, err := target.KubeClient(k.Kubeconfig, "", 15*time.Second)
	if err != nil {
		return err
	}
	fx := fixtures.NewKube(client)
	if err := fx.Apply(ctx, fixtures.KubeflowRoles, nil); err != nil {
		return err
	}
	if p.MultiUser {
		for _, ns := range p.KFP.Namespaces {
			_, err := client.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
			if err == nil {
				continue
			}
			if !apierrors.IsNotFound(err) {
				return err
			}
			if err := fx.Profile(ctx, ns.Name, ns.Owner); err != nil {
				return err
			}
			for _, c := range ns.Contributors {
				if err := fx.Contributor(ctx, ns.Name, c); err != nil {
					return err
				}
			}
		}
	}
	return AggregateClusterRoles(ctx, client)
}

// AggregateClusterRoles does once what kube-controller-manager's clusterrole-aggregation controller does all
// the time, which a kube-apiserver alone does not run: every ClusterRole with an aggregationRule gets the rules
// of the ClusterRoles its selectors match (nested aggregation resolved), written back through the API. Without
// it kubeflow-edit and kubeflow-view (rules: []) grant nothing. Call it again after creating ClusterRoles.
func AggregateClusterRoles(ctx context.Context, client kubernetes.Interface) error {
	list, err := client.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("clusterrole aggregation: %w", err)
	}
	roles := list.Items
	sort.Slice(roles, func(i, j int) bool { return roles[i].Name < roles[j].Name })
	changed := map[int]bool{}
	// Each pass can only lengthen rule lists, and nesting is shallow: a fixed point comes within len(roles) passes.
	for pass := 0; pass <= len(roles); pass++ {
		again := false
		for i := range roles {
			ar := roles[i].AggregationRule
			if ar == nil {
				continue
			}
			var rules []rbacv1.PolicyRule
			for _, sel := range ar.ClusterRoleSelectors {
				s, err := metav1.LabelSelectorAsSelector(&sel)
				if err != nil {
					return fmt.Errorf("clusterrole aggregation: %s: %w", roles[i].Name, err)
				}
				for j := range roles {
					if j == i || !s.Matches(labels.Set(roles[j].Labels)) {
						continue
					}
					for _, r := range roles[j].Rules {
						if !containsRule(rules, r) {
							rules = append(rules, r)
						}
					}
				}
			}
			if !reflect.DeepEqual(rules, roles[i].Rules) && !(len(rules) == 0 && len(roles[i].Rules) == 0) {
				roles[i].Rules = rules
				changed[i], again = true, true
			}
		}
		if !again {
			break
		}
	}
	for i := range changed {
		if _, err := client.RbacV1().ClusterRoles().Update(ctx, &roles[i], metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("clusterrole aggregation: update %s: %w", roles[i].Name, err)
		}
	}
	return nil
}

func containsRule(rules []rbacv1.PolicyRule, r rbacv1.PolicyRule) bool {
	for _, x := range rules {
		if reflect.DeepEqual(x, r) {
			return true
		}
	}
	return false
}
