package local

import (
	"context"
	"fmt"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/istiogateway"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// meshConfig is the Istio gateway stand-in's configuration for a profile with a mesh (kubeflow 1.9+): jwt_authn
// against Dex's keys and the real kube-apiserver's (/openid/v1/jwks). oauth2-proxy runs in reverse-proxy mode
// here and sets the identity itself, where Kubeflow's runs as ext-authz and injects the Dex ID token that
// jwt_authn then reads: the same identity reaches the KFP API either way.
func (s *Stack) meshConfig(ctx context.Context, p *profile.Profile) (*istiogateway.Config, error) {
	if err := s.allowIssuerDiscovery(ctx); err != nil {
		return nil, err
	}
	c := components.MeshConfig(p.Gateway.Mesh, s.IssuerURL, s.Kube.URL+"/openid/v1/jwks", s.Kube.HTTPClient(), time.Now)
	s.meshed = true
	return &c, nil
}

// allowIssuerDiscovery binds system:service-account-issuer-discovery to system:unauthenticated, as Kubeflow's
// allow-unauthenticated-issuer-discovery does, so the gateway (istiod, through cluster-jwks-proxy in a cluster)
// reads the ServiceAccount issuer's keys without a credential.
func (s *Stack) allowIssuerDiscovery(ctx context.Context) error {
	if s.kube == nil {
		return fmt.Errorf("the mesh needs the tier's kube-apiserver")
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "allow-unauthenticated-issuer-discovery"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:service-account-issuer-discovery"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: "system:unauthenticated"}},
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := s.kube.client.RbacV1().ClusterRoleBindings().Create(cctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("kube-apiserver: %s: %w", crb.Name, err)
	}
	return nil
}
