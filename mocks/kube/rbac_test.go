package kube

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// TestRuleAllows is the matching table of kube-apiserver's RBAC, case by case.
func TestRuleAllows(t *testing.T) {
	res := func(verb, group, resource, sub, name string) Attributes {
		return Attributes{Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Name: name, ResourceRequest: true}
	}
	rule := func(verbs, groups, resources, names []string) *rbacv1.PolicyRule {
		return &rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources, ResourceNames: names}
	}
	s := func(v ...string) []string { return v }
	kfp := "pipelines.kubeflow.org"
	for _, tc := range []struct {
		name string
		a    Attributes
		r    *rbacv1.PolicyRule
		want bool
	}{
		{"exact", res("list", kfp, "experiments", "", ""), rule(s("get", "list"), s(kfp), s("experiments"), nil), true},
		{"other verb", res("create", kfp, "experiments", "", ""), rule(s("get", "list"), s(kfp), s("experiments"), nil), false},
		{"verb star", res("reportMetrics", kfp, "runs", "", ""), rule(s("*"), s(kfp), s("runs"), nil), true},
		{"verbs are case sensitive", res("reportmetrics", kfp, "runs", "", ""), rule(s("reportMetrics"), s(kfp), s("runs"), nil), false},
		{"other group", res("list", "kubeflow.org", "experiments", "", ""), rule(s("list"), s(kfp), s("experiments"), nil), false},
		{"group star", res("list", "kubeflow.org", "experiments", "", ""), rule(s("list"), s("*"), s("experiments"), nil), true},
		{"core group is the empty string", res("get", "", "pods", "", ""), rule(s("get"), s(""), s("pods"), nil), true},
		{"resource star", res("get", kfp, "runs", "", ""), rule(s("get"), s(kfp), s("*"), nil), true},
		{"resource star covers subresources", res("get", "", "pods", "log", ""), rule(s("get"), s(""), s("*"), nil), true},
		{"resource does not cover its subresource", res("get", "", "pods", "log", ""), rule(s("get"), s(""), s("pods"), nil), false},
		{"resource/subresource", res("create", "", "serviceaccounts", "token", ""), rule(s("create"), s(""), s("serviceaccounts/token"), nil), true},
		{"*/subresource", res("get", "", "pods", "log", ""), rule(s("get"), s(""), s("*/log"), nil), true},
		{"*/subresource, other subresource", res("get", "", "pods", "exec", ""), rule(s("get"), s(""), s("*/log"), nil), false},
		{"*/subresource does not cover the resource", res("get", "", "pods", "", ""), rule(s("get"), s(""), s("*/log"), nil), false},
		{"v1.8 pipelines/versions is a subresource", res("get", kfp, "pipelines", "versions", ""), rule(s("get"), s(kfp), s("pipelines/versions"), nil), true},
		{"resourceNames match", res("get", kfp, "experiments", "", "e1"), rule(s("get"), s(kfp), s("experiments"), s("e1")), true},
		{"resourceNames other", res("get", kfp, "experiments", "", "e2"), rule(s("get"), s(kfp), s("experiments"), s("e1")), false},
		{"resourceNames never match a list", res("list", kfp, "experiments", "", ""), rule(s("list"), s(kfp), s("experiments"), s("e1")), false},
		{"no verbs", res("get", kfp, "experiments", "", ""), rule(nil, s(kfp), s("experiments"), nil), false},
		{"non-resource exact", Attributes{Verb: "get", Path: "/openid/v1/jwks"}, &rbacv1.PolicyRule{Verbs: s("get"), NonResourceURLs: s("/openid/v1/jwks")}, true},
		{"non-resource prefix star", Attributes{Verb: "get", Path: "/healthz/etcd"}, &rbacv1.PolicyRule{Verbs: s("get"), NonResourceURLs: s("/healthz/*")}, true},
		{"non-resource star", Attributes{Verb: "get", Path: "/anything"}, &rbacv1.PolicyRule{Verbs: s("get"), NonResourceURLs: s("*")}, true},
		{"non-resource other", Attributes{Verb: "get", Path: "/version"}, &rbacv1.PolicyRule{Verbs: s("get"), NonResourceURLs: s("/healthz")}, false},
		{"resource rule does not match a path", Attributes{Verb: "get", Path: "/version"}, rule(s("get"), s("*"), s("*"), nil), false},
	} {
		if got := RuleAllows(tc.a, tc.r); got != tc.want {
			t.Errorf("%s: RuleAllows = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAppliesToUser(t *testing.T) {
	sa := User{Name: "system:serviceaccount:ns-2:default-editor"}
	saWithGroups := User{Name: sa.Name, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns-2"}}
	for _, tc := range []struct {
		name string
		u    User
		s    rbacv1.Subject
		ns   string
		want bool
	}{
		{"service account", sa, rbacv1.Subject{Kind: "ServiceAccount", Name: "default-editor", Namespace: "ns-2"}, "ns-1", true},
		{"service account of another namespace", sa, rbacv1.Subject{Kind: "ServiceAccount", Name: "default-editor", Namespace: "ns-3"}, "ns-1", false},
		{"service account defaults to the binding's namespace", sa, rbacv1.Subject{Kind: "ServiceAccount", Name: "default-editor"}, "ns-2", true},
		{"service account without any namespace", sa, rbacv1.Subject{Kind: "ServiceAccount", Name: "default-editor"}, "", false},
		{"user by name", User{Name: "user@example.com"}, rbacv1.Subject{Kind: "User", Name: "user@example.com"}, "", true},
		{"user names are case sensitive", User{Name: "User@example.com"}, rbacv1.Subject{Kind: "User", Name: "user@example.com"}, "", false},
		{"group needs the group (KFP's SAR sends none)", sa, rbacv1.Subject{Kind: "Group", Name: "system:serviceaccounts"}, "", false},
		{"group", saWithGroups, rbacv1.Subject{Kind: "Group", Name: "system:serviceaccounts:ns-2"}, "", true},
		{"unknown kind", sa, rbacv1.Subject{Kind: "Robot", Name: sa.Name}, "", false},
	} {
		if got := appliesToUser(tc.u, tc.s, tc.ns); got != tc.want {
			t.Errorf("%s: appliesToUser = %v, want %v", tc.name, got, tc.want)
		}
	}
}
