package rbaceval

import (
	"errors"
	"fmt"

	authzv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// Subject is who asks: a user name and its groups, exactly as a SubjectAccessReview's spec carries them.
type Subject struct {
	User   string
	Groups []string
}

// Grant is one binding that names a subject, with the rules of the role it binds (aggregated where the role is
// an aggregated ClusterRole). Namespace is empty for a ClusterRoleBinding.
type Grant struct {
	Kind        string // "ClusterRoleBinding" or "RoleBinding"
	Namespace   string
	Name        string
	Annotations map[string]string
	Subjects    []rbacv1.Subject
	RoleRef     rbacv1.RoleRef
	Rules       []rbacv1.PolicyRule
}

// String names the binding as kubectl would: "RoleBinding ns/name", "ClusterRoleBinding name".
func (g Grant) String() string {
	if g.Namespace == "" {
		return g.Kind + " " + g.Name
	}
	return g.Kind + " " + g.Namespace + "/" + g.Name
}

// Allows reports whether the grant's rules cover one request (Kubernetes' own rule comparison): verb on
// group/resource[/subresource] (and name, when given).
func (g Grant) Allows(a authzv1.ResourceAttributes) bool {
	return covers(g.Rules, resourceRule(a))
}

// Index is a Policy prepared for many questions: every ClusterRole's rules resolved (aggregation included)
// once, RoleBindings and Roles grouped by namespace, so that a question costs the bindings of one namespace and
// not the whole policy. It answers as Policy.Review does; build it again after the Policy changes.
type Index struct {
	clusterBindings []rbacv1.ClusterRoleBinding
	bindings        map[string][]rbacv1.RoleBinding
	roles           map[string]map[string][]rbacv1.PolicyRule
	clusterRules    map[string][]rbacv1.PolicyRule
	clusterErrs     map[string]error
}

// Index builds the Index of p.
func (p *Policy) Index() *Index {
	ix := &Index{
		clusterBindings: p.ClusterRoleBindings,
		bindings:        map[string][]rbacv1.RoleBinding{},
		roles:           map[string]map[string][]rbacv1.PolicyRule{},
		clusterRules:    map[string][]rbacv1.PolicyRule{},
		clusterErrs:     map[string]error{},
	}
	for _, b := range p.RoleBindings {
		ix.bindings[b.Namespace] = append(ix.bindings[b.Namespace], b)
	}
	for _, r := range p.Roles {
		if ix.roles[r.Namespace] == nil {
			ix.roles[r.Namespace] = map[string][]rbacv1.PolicyRule{}
		}
		ix.roles[r.Namespace][r.Name] = r.Rules
	}
	for _, cr := range p.ClusterRoles {
		if _, done := ix.clusterRules[cr.Name]; done {
			continue
		}
		rules, err := p.clusterRoleRules(cr.Name, map[string]bool{})
		if err != nil {
			ix.clusterErrs[cr.Name] = err
			continue
		}
		ix.clusterRules[cr.Name] = rules
	}
	return ix
}

// Namespaces lists the namespaces that hold at least one RoleBinding.
func (ix *Index) Namespaces() []string {
	out := make([]string, 0, len(ix.bindings))
	for ns := range ix.bindings {
		out = append(out, ns)
	}
	return out
}

// ClusterGrants are the ClusterRoleBindings that name s; they hold in every namespace. err names the bindings
// whose role could not be resolved.
func (ix *Index) ClusterGrants(s Subject) ([]Grant, error) {
	u := user{name: s.User, groups: s.Groups}
	var out []Grant
	var errs []error
	for _, b := range ix.clusterBindings {
		if !u.boundBy(b.Subjects, "") {
			continue
		}
		rules, err := ix.rules(b.RoleRef, "")
		if err != nil {
			errs = append(errs, fmt.Errorf("ClusterRoleBinding %s: %w", b.Name, err))
			continue
		}
		out = append(out, Grant{Kind: "ClusterRoleBinding", Name: b.Name, Annotations: b.Annotations,
			Subjects: b.Subjects, RoleRef: b.RoleRef, Rules: rules})
	}
	return out, errors.Join(errs...)
}

// NamespaceGrants are the RoleBindings of namespace that name s.
func (ix *Index) NamespaceGrants(s Subject, namespace string) ([]Grant, error) {
	u := user{name: s.User, groups: s.Groups}
	var out []Grant
	var errs []error
	for _, b := range ix.bindings[namespace] {
		if !u.boundBy(b.Subjects, namespace) {
			continue
		}
		rules, err := ix.rules(b.RoleRef, namespace)
		if err != nil {
			errs = append(errs, fmt.Errorf("RoleBinding %s/%s: %w", b.Namespace, b.Name, err))
			continue
		}
		out = append(out, Grant{Kind: "RoleBinding", Namespace: namespace, Name: b.Name, Annotations: b.Annotations,
			Subjects: b.Subjects, RoleRef: b.RoleRef, Rules: rules})
	}
	return out, errors.Join(errs...)
}

// Review is Policy.Review on the index.
func (ix *Index) Review(spec authzv1.SubjectAccessReviewSpec) (bool, error) {
	if spec.ResourceAttributes == nil {
		if spec.NonResourceAttributes == nil {
			return false, errors.New("the SubjectAccessReview has neither resourceAttributes nor nonResourceAttributes")
		}
		request := rbacv1.PolicyRule{Verbs: []string{spec.NonResourceAttributes.Verb}, NonResourceURLs: []string{spec.NonResourceAttributes.Path}}
		grants, err := ix.ClusterGrants(Subject{User: spec.User, Groups: spec.Groups})
		for _, g := range grants {
			if covers(g.Rules, request) {
				return true, nil
			}
		}
		return false, err
	}
	s := Subject{User: spec.User, Groups: spec.Groups}
	grants, err := ix.ClusterGrants(s)
	if ns := spec.ResourceAttributes.Namespace; ns != "" {
		more, nerr := ix.NamespaceGrants(s, ns)
		grants = append(grants, more...)
		err = errors.Join(err, nerr)
	}
	for _, g := range grants {
		if g.Allows(*spec.ResourceAttributes) {
			return true, nil
		}
	}
	return false, err
}

func (ix *Index) rules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
	switch ref.Kind {
	case "ClusterRole":
		if err := ix.clusterErrs[ref.Name]; err != nil {
			return nil, err
		}
		rules, ok := ix.clusterRules[ref.Name]
		if !ok {
			return nil, fmt.Errorf("clusterrole %q not found", ref.Name)
		}
		return rules, nil
	case "Role":
		if namespace == "" {
			return nil, fmt.Errorf("a ClusterRoleBinding cannot refer to Role %s", ref.Name)
		}
		rules, ok := ix.roles[namespace][ref.Name]
		if !ok {
			return nil, fmt.Errorf("role %q not found in %s", ref.Name, namespace)
		}
		return rules, nil
	}
	return nil, fmt.Errorf("unsupported role reference kind: %q", ref.Kind)
}

// resourceRule is a resource request as the one-verb rule validation.Covers compares.
func resourceRule(a authzv1.ResourceAttributes) rbacv1.PolicyRule {
	resource := a.Resource
	if a.Subresource != "" {
		resource += "/" + a.Subresource
	}
	r := rbacv1.PolicyRule{Verbs: []string{a.Verb}, APIGroups: []string{a.Group}, Resources: []string{resource}}
	if a.Name != "" {
		r.ResourceNames = []string{a.Name}
	}
	return r
}
