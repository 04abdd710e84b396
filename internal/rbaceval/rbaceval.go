// Package rbaceval answers SubjectAccessReviews in process from a set of RBAC objects, as kube-apiserver's RBAC
// authorizer would after kube-controller-manager's clusterrole-aggregation controller has filled in the
// aggregated ClusterRoles. It is the harness's independent judge of RBAC where no kube-apiserver runs (the
// embedded tier): whether a rule allows a request is decided by Kubernetes' own rule comparison
// (k8s.io/component-helpers/auth/rbac/validation), not by the Kubernetes stand-in, which must never use this
// package. The local tier's tests compare its answers with kube-apiserver's on the same objects.
package rbaceval

import (
	"errors"
	"fmt"

	authzv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/component-helpers/auth/rbac/validation"
	"sigs.k8s.io/yaml"
)

// Policy is a set of RBAC objects. The zero Policy allows nothing.
type Policy struct {
	ClusterRoles        []rbacv1.ClusterRole
	Roles               []rbacv1.Role
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	RoleBindings        []rbacv1.RoleBinding
}

// AddManifest adds the RBAC objects (rbac.authorization.k8s.io/v1 ClusterRole, Role, ClusterRoleBinding,
// RoleBinding) among YAML or JSON documents, such as fixtures.Render returns; documents of other kinds
// (Namespaces, ServiceAccounts, ...) do not take part in RBAC and are skipped.
func (p *Policy) AddManifest(docs [][]byte) error {
	for i, d := range docs {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(d, &tm); err != nil {
			return fmt.Errorf("document %d: %w", i+1, err)
		}
		if tm.APIVersion != rbacv1.SchemeGroupVersion.String() {
			continue
		}
		var err error
		switch tm.Kind {
		case "ClusterRole":
			var o rbacv1.ClusterRole
			if err = yaml.UnmarshalStrict(d, &o); err == nil {
				p.ClusterRoles = append(p.ClusterRoles, o)
			}
		case "Role":
			var o rbacv1.Role
			if err = yaml.UnmarshalStrict(d, &o); err == nil {
				p.Roles = append(p.Roles, o)
			}
		case "ClusterRoleBinding":
			var o rbacv1.ClusterRoleBinding
			if err = yaml.UnmarshalStrict(d, &o); err == nil {
				p.ClusterRoleBindings = append(p.ClusterRoleBindings, o)
			}
		case "RoleBinding":
			var o rbacv1.RoleBinding
			if err = yaml.UnmarshalStrict(d, &o); err == nil {
				p.RoleBindings = append(p.RoleBindings, o)
			}
		}
		if err != nil {
			return fmt.Errorf("document %d (%s): %w", i+1, tm.Kind, err)
		}
	}
	return nil
}

// Clone returns a copy of p that can be added to without changing p.
func (p *Policy) Clone() *Policy {
	return &Policy{
		ClusterRoles:        append([]rbacv1.ClusterRole(nil), p.ClusterRoles...),
		Roles:               append([]rbacv1.Role(nil), p.Roles...),
		ClusterRoleBindings: append([]rbacv1.ClusterRoleBinding(nil), p.ClusterRoleBindings...),
		RoleBindings:        append([]rbacv1.RoleBinding(nil), p.RoleBindings...),
	}
}

// Review answers a SubjectAccessReview spec as the RBAC authorizer: allowed when a ClusterRoleBinding, or a
// RoleBinding of the request's namespace, binds a role whose rules cover the request to the spec's user, one of
// its groups or (for system:serviceaccount:<ns>:<name>) its ServiceAccount. On a denial, err names the bindings
// whose role could not be resolved (kube-apiserver puts those in the denial's reason); an allowed request has no
// error. A spec with neither resource nor non-resource attributes is an error.
func (p *Policy) Review(spec authzv1.SubjectAccessReviewSpec) (allowed bool, err error) {
	var request rbacv1.PolicyRule
	namespace := ""
	switch {
	case spec.ResourceAttributes != nil:
		a := spec.ResourceAttributes
		resource := a.Resource
		if a.Subresource != "" {
			resource += "/" + a.Subresource
		}
		request = rbacv1.PolicyRule{Verbs: []string{a.Verb}, APIGroups: []string{a.Group}, Resources: []string{resource}}
		if a.Name != "" {
			request.ResourceNames = []string{a.Name}
		}
		namespace = a.Namespace
	case spec.NonResourceAttributes != nil:
		request = rbacv1.PolicyRule{Verbs: []string{spec.NonResourceAttributes.Verb}, NonResourceURLs: []string{spec.NonResourceAttributes.Path}}
	default:
		return false, errors.New("the SubjectAccessReview has neither resourceAttributes nor nonResourceAttributes")
	}
	subject := user{name: spec.User, groups: spec.Groups}
	var errs []error
	for _, b := range p.ClusterRoleBindings {
		if !subject.boundBy(b.Subjects, "") {
			continue
		}
		rules, err := p.roleRules(b.RoleRef, "")
		if err != nil {
			errs = append(errs, fmt.Errorf("ClusterRoleBinding %s: %w", b.Name, err))
			continue
		}
		if covers(rules, request) {
			return true, nil
		}
	}
	if namespace != "" {
		for _, b := range p.RoleBindings {
			if b.Namespace != namespace || !subject.boundBy(b.Subjects, namespace) {
				continue
			}
			rules, err := p.roleRules(b.RoleRef, namespace)
			if err != nil {
				errs = append(errs, fmt.Errorf("RoleBinding %s/%s: %w", b.Namespace, b.Name, err))
				continue
			}
			if covers(rules, request) {
				return true, nil
			}
		}
	}
	return false, errors.Join(errs...)
}

// covers is Kubernetes' rule comparison: the request, one verb on one resource (or URL), is allowed by rules
// when they cover it.
func covers(rules []rbacv1.PolicyRule, request rbacv1.PolicyRule) bool {
	ok, _ := validation.Covers(rules, []rbacv1.PolicyRule{request})
	return ok
}

// user is the requester of a SubjectAccessReview: exactly spec.user and spec.groups (kube-apiserver adds
// nothing to them for a SubjectAccessReview).
type user struct {
	name   string
	groups []string
}

// boundBy reports whether any subject names u; a ServiceAccount subject without a namespace takes the
// binding's.
func (u user) boundBy(subjects []rbacv1.Subject, bindingNamespace string) bool {
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			if u.name == s.Name {
				return true
			}
		case rbacv1.GroupKind:
			for _, g := range u.groups {
				if g == s.Name {
					return true
				}
			}
		case rbacv1.ServiceAccountKind:
			ns := bindingNamespace
			if s.Namespace != "" {
				ns = s.Namespace
			}
			if ns != "" && u.name == "system:serviceaccount:"+ns+":"+s.Name {
				return true
			}
		}
	}
	return false
}

// roleRules resolves a binding's roleRef to the role's rules; a RoleBinding's Role is looked up in its own
// namespace.
func (p *Policy) roleRules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
	switch ref.Kind {
	case "ClusterRole":
		return p.clusterRoleRules(ref.Name, map[string]bool{})
	case "Role":
		if namespace == "" {
			return nil, fmt.Errorf("a ClusterRoleBinding cannot refer to Role %s", ref.Name)
		}
		for _, r := range p.Roles {
			if r.Namespace == namespace && r.Name == ref.Name {
				return r.Rules, nil
			}
		}
		return nil, fmt.Errorf("role %q not found in %s", ref.Name, namespace)
	}
	return nil, fmt.Errorf("unsupported role reference kind: %q", ref.Kind)
}

// clusterRoleRules is a ClusterRole's rules as the aggregation controller leaves them: its own, or, with an
// aggregationRule, the rules of every other ClusterRole a selector matches, themselves aggregated (Kubeflow
// chains kubeflow-admin to kubeflow-edit to kubeflow-view). seen stops a cycle.
func (p *Policy) clusterRoleRules(name string, seen map[string]bool) ([]rbacv1.PolicyRule, error) {
	if seen[name] {
		return nil, nil
	}
	seen[name] = true
	for _, cr := range p.ClusterRoles {
		if cr.Name != name {
			continue
		}
		if cr.AggregationRule == nil {
			return cr.Rules, nil
		}
		var rules []rbacv1.PolicyRule
		for _, sel := range cr.AggregationRule.ClusterRoleSelectors {
			s, err := metav1.LabelSelectorAsSelector(&sel)
			if err != nil {
				return nil, fmt.Errorf("clusterrole %s: aggregationRule: %w", name, err)
			}
			for _, other := range p.ClusterRoles {
				if other.Name == name || !s.Matches(labels.Set(other.Labels)) {
					continue
				}
				r, err := p.clusterRoleRules(other.Name, seen)
				if err != nil {
					return nil, err
				}
				rules = append(rules, r...)
			}
		}
		return rules, nil
	}
	return nil, fmt.Errorf("clusterrole %q not found", name)
}
