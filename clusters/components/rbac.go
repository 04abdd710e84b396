package components

import (
	"context"

	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// ApplyProfileRBAC applies, through client-go, the Kubeflow and KFP ClusterRoles and each Kubeflow Profile of p
// as RBAC (namespace, default-editor and default-viewer, namespaceAdmin for the owner, a kubeflow-edit
// RoleBinding per contributor as KFAM makes it): the same fixtures for the Kubernetes stand-in and a real
// kube-apiserver. They live as long as the cluster: they carry the base label, not a run label, so no sweep and
// no `cleanup` ever removes them.
func ApplyProfileRBAC(ctx context.Context, client kubernetes.Interface, p *profile.Profile) error {
	fx := fixtures.NewBase(client)
	if err := fx.Apply(ctx, fixtures.KubeflowRoles, nil); err != nil {
		return err
	}
	for _, ns := range p.KFP.Namespaces {
		if err := fx.Profile(ctx, ns.Name, ns.Owner); err != nil {
			return err
		}
		for _, c := range ns.Contributors {
			if err := fx.Contributor(ctx, ns.Name, c); err != nil {
				return err
			}
		}
	}
	return nil
}
