package kube

import (
	"errors"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// User is an authenticated (or anonymous) requester, as kube-apiserver's user.Info.
type User struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// Attributes is what an authorizer decides on: a resource request (Resource set) or a non-resource URL (Path).
type Attributes struct {
	User                                                   User
	Verb                                                   string
	Namespace, APIGroup, Resource, Subresource, Name, Path string
	ResourceRequest                                        bool
}

// The matchers below are kube-apiserver's RBAC rule matching (pkg/apis/rbac/v1/evaluation_helpers.go and
// plugin/pkg/auth/authorizer/rbac RuleAllows), restated; rbac_test.go holds their table.

func verbMatches(r *rbacv1.PolicyRule, verb string) bool {
	if mutate.On(mutate.KubeIgnoreVerbs) {
		return len(r.Verbs) > 0
	}
	for _, v := range r.Verbs {
		if v == rbacv1.VerbAll || v == verb {
			return true
		}
	}
	return false
}

func apiGroupMatches(r *rbacv1.PolicyRule, group string) bool {
	for _, g := range r.APIGroups {
		if g == rbacv1.APIGroupAll || g == group {
			return true
		}
	}
	return false
}

// resourceMatches matches "resource/subresource" exactly, "*", or "*/subresource" for any resource.
func resourceMatches(r *rbacv1.PolicyRule, combined, subresource string) bool {
	for _, res := range r.Resources {
		if res == rbacv1.ResourceAll || res == combined {
			return true
		}
		if subresource != "" && len(res) == len(subresource)+2 && strings.HasPrefix(res, "*/") && strings.HasSuffix(res, subresource) {
			return true
		}
	}
	return false
}

// resourceNameMatches: an empty resourceNames list allows every name; otherwise the name must be listed (so a
// list or create, which has no name, never matches a rule with resourceNames).
func resourceNameMatches(r *rbacv1.PolicyRule, name string) bool {
	if len(r.ResourceNames) == 0 {
		return true
	}
	for _, n := range r.ResourceNames {
		if n == name {
			return true
		}
	}
	return false
}

func nonResourceURLMatches(r *rbacv1.PolicyRule, path string) bool {
	for _, u := range r.NonResourceURLs {
		if u == rbacv1.NonResourceAll || u == path {
			return true
		}
		if strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimRight(u, "*")) {
			return true
		}
	}
	return false
}

// RuleAllows is RBAC's RuleAllows.
func RuleAllows(a Attributes, r *rbacv1.PolicyRule) bool {
	if a.ResourceRequest {
		combined := a.Resource
		if a.Subresource != "" {
			combined += "/" + a.Subresource
		}
		return verbMatches(r, a.Verb) && apiGroupMatches(r, a.APIGroup) &&
			resourceMatches(r, combined, a.Subresource) && resourceNameMatches(r, a.Name)
	}
	return verbMatches(r, a.Verb) && nonResourceURLMatches(r, a.Path)
}

// SetRuleMatcher replaces the authorizer's rule matching (RuleAllows) with match; nil restores RuleAllows. It
// exists to break the stand-in on purpose: a check that judges RBAC must notice when the cluster's rule matching
// is wrong, and only an expectation computed apart from the stand-in can.
func (s *Server) SetRuleMatcher(match func(Attributes, *rbacv1.PolicyRule) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ruleAllows = match
}

// appliesToUser is RBAC's subject matching. A ServiceAccount subject without a namespace takes the binding's.
func appliesToUser(u User, s rbacv1.Subject, namespace string) bool {
	switch s.Kind {
	case rbacv1.UserKind:
		return u.Name == s.Name
	case rbacv1.GroupKind:
		for _, g := range u.Groups {
			if g == s.Name {
				return true
			}
		}
		return false
	case rbacv1.ServiceAccountKind:
		ns := namespace
		if s.Namespace != "" {
			ns = s.Namespace
		}
		return ns != "" && u.Name == serviceAccountUsername(ns, s.Name)
	}
	return false
}

func serviceAccountUsername(ns, name string) string {
	return "system:serviceaccount:" + ns + ":" + name
}

func describeSubject(s *rbacv1.Subject, bindingNamespace string) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace
		}
		return fmt.Sprintf("%s %q", s.Kind, s.Name+"/"+ns)
	}
	return fmt.Sprintf("%s %q", s.Kind, s.Name)
}

// authorize is the RBAC authorizer over the store: cluster role bindings first, then the role bindings of the
// request's namespace. allowed comes with "RBAC: allowed by ..."; a denial's reason is empty unless a binding
// could not be resolved (then "RBAC: " and the errors), as kube-apiserver reports it.
func (s *Server) authorize(a Attributes) (allowed bool, reason string) {
	for _, g := range a.User.Groups {
		if g == "system:masters" { // kube-apiserver's privileged group authorizer runs before RBAC
			return true, ""
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	allows := RuleAllows
	if s.ruleAllows != nil {
		allows = s.ruleAllows
	}
	var errs []error
	for _, b := range sortedObjects[*rbacv1.ClusterRoleBinding](s, resClusterRoleBindings, "") {
		i, ok := appliesTo(a.User, b.Subjects, "")
		if !ok {
			continue
		}
		rules, err := s.roleRefRules(b.RoleRef, "")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for k := range rules {
			if allows(a, &rules[k]) {
				return true, fmt.Sprintf("RBAC: allowed by ClusterRoleBinding %q of %s %q to %s", b.Name, b.RoleRef.Kind, b.RoleRef.Name, describeSubject(&b.Subjects[i], ""))
			}
		}
	}
	if a.Namespace != "" {
		for _, b := range sortedObjects[*rbacv1.RoleBinding](s, resRoleBindings, a.Namespace) {
			i, ok := appliesTo(a.User, b.Subjects, a.Namespace)
			if !ok {
				continue
			}
			rules, err := s.roleRefRules(b.RoleRef, a.Namespace)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for k := range rules {
				if allows(a, &rules[k]) {
					return true, fmt.Sprintf("RBAC: allowed by RoleBinding %q of %s %q to %s", b.Name+"/"+b.Namespace, b.RoleRef.Kind, b.RoleRef.Name, describeSubject(&b.Subjects[i], b.Namespace))
				}
			}
		}
	}
	if len(errs) > 0 {
		return false, "RBAC: " + aggregate(errs)
	}
	return false, ""
}

func appliesTo(u User, subjects []rbacv1.Subject, ns string) (int, bool) {
	for i, s := range subjects {
		if appliesToUser(u, s, ns) {
			return i, true
		}
	}
	return 0, false
}

// roleRefRules resolves a binding's roleRef; the caller holds s.mu.
func (s *Server) roleRefRules(ref rbacv1.RoleRef, ns string) ([]rbacv1.PolicyRule, error) {
	switch ref.Kind {
	case "Role":
		o, ok := s.objects[resRoles][key(ns, ref.Name)]
		if !ok {
			return nil, apierrors.NewNotFound(schema.GroupResource{Group: rbacv1.GroupName, Resource: "role"}, ref.Name)
		}
		return o.(*rbacv1.Role).Rules, nil
	case "ClusterRole":
		o, ok := s.objects[resClusterRoles][key("", ref.Name)]
		if !ok {
			return nil, apierrors.NewNotFound(schema.GroupResource{Group: rbacv1.GroupName, Resource: "clusterrole"}, ref.Name)
		}
		return o.(*rbacv1.ClusterRole).Rules, nil
	}
	return nil, fmt.Errorf("unsupported role reference kind: %q", ref.Kind)
}

// aggregate is utilerrors.NewAggregate(errs).Error(): one message alone, several in brackets.
func aggregate(errs []error) string {
	if len(errs) == 1 {
		return errs[0].Error()
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}

// reconcileAggregation recomputes every ClusterRole that has an aggregationRule. The caller holds s.mu for
// writing.
func (s *Server) reconcileAggregation() error {
	_, err := AggregateClusterRoles(sortedObjects[*rbacv1.ClusterRole](s, resClusterRoles, ""))
	return err
}

// AggregateClusterRoles does what kube-controller-manager's clusterrole-aggregation controller converges to:
// every ClusterRole with an aggregationRule gets the rules of every other ClusterRole matched by any selector, in
// the order of roles (name order), without duplicates. It changes roles in place and returns those it changed.
func AggregateClusterRoles(roles []*rbacv1.ClusterRole) ([]*rbacv1.ClusterRole, error) {
	changedRoles := map[*rbacv1.ClusterRole]bool{}
	// Aggregation can chain (kubeflow-admin aggregates kubeflow-edit, which aggregates kubeflow-view); repeating
	// until nothing changes is what the controller converges to.
	for pass := 0; pass <= len(roles); pass++ {
		changed := false
		for _, cr := range roles {
			if cr.AggregationRule == nil {
				continue
			}
			var rules []rbacv1.PolicyRule
			for _, sel := range cr.AggregationRule.ClusterRoleSelectors {
				selector, err := metav1.LabelSelectorAsSelector(&sel)
				if err != nil {
					return nil, fmt.Errorf("clusterrole %s: aggregationRule: %w", cr.Name, err)
				}
				for _, other := range roles {
					if other.Name == cr.Name || !selector.Matches(labels.Set(other.Labels)) {
						continue
					}
					for _, r := range other.Rules {
						if !containsRule(rules, r) {
							rules = append(rules, r)
						}
					}
				}
			}
			if !rulesEqual(cr.Rules, rules) {
				cr.Rules = rules
				changed = true
				changedRoles[cr] = true
			}
		}
		if !changed {
			var out []*rbacv1.ClusterRole
			for _, cr := range roles {
				if changedRoles[cr] {
					out = append(out, cr)
				}
			}
			return out, nil
		}
	}
	return nil, errors.New("clusterrole aggregation did not converge")
}

func containsRule(rules []rbacv1.PolicyRule, r rbacv1.PolicyRule) bool {
	for _, x := range rules {
		if ruleEqual(x, r) {
			return true
		}
	}
	return false
}

func rulesEqual(a, b []rbacv1.PolicyRule) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !ruleEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

func ruleEqual(a, b rbacv1.PolicyRule) bool {
	eq := func(x, y []string) bool {
		return strings.Join(x, "\x00") == strings.Join(y, "\x00") && len(x) == len(y)
	}
	return eq(a.Verbs, b.Verbs) && eq(a.APIGroups, b.APIGroups) && eq(a.Resources, b.Resources) &&
		eq(a.ResourceNames, b.ResourceNames) && eq(a.NonResourceURLs, b.NonResourceURLs)
}
