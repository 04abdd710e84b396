package components

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// ApplyProfileRBAC applies, through client-go, the profile's Kubeflow and KFP ClusterRoles (its release's as
// shipped, fixtures.Roles; the harness's default roles for a profile without shipped roles) and each Kubeflow
// Profile of p as RBAC (namespace, default-editor and default-viewer, namespaceAdmin for the owner, a
// kubeflow-edit RoleBinding per contributor as KFAM makes it): the same fixtures for the Kubernetes stand-in and a
// real kube-apiserver. They live as long as the cluster: they carry the base label, not a run label, so no sweep
// and no `cleanup` ever removes them.
func ApplyProfileRBAC(ctx context.Context, client kubernetes.Interface, p *profile.Profile) error {
	fx := fixtures.NewBase(client)
	name, roles, err := fixtures.Roles(p.Roles, p.RolesManifest)
	if err != nil {
		return fmt.Errorf("profile %s: %w", p.Name, err)
	}
	if err := fx.ApplyDocs(ctx, name, roles); err != nil {
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
