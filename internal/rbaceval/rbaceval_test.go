package rbaceval

import (
	"strings"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
)

const policyYAML = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: top
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {to-top: "true"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: middle
  labels: {to-top: "true"}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {to-middle: "true"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: part
  labels: {to-middle: "true"}
rules:
- apiGroups: [pipelines.kubeflow.org]
  resources: [runs, "*/status"]
  verbs: [get, list]
- apiGroups: [""]
  resources: [serviceaccounts]
  resourceNames: [pipeline-runner]
  verbs: [use]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: local
  namespace: ns1
rules:
- apiGroups: ["*"]
  resources: [configmaps]
  verbs: ["*"]
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default-editor
  namespace: ns2
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: top
  namespace: ns1
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: top}
subjects:
- {kind: ServiceAccount, name: default-editor, namespace: ns2}
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: alice}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: local
  namespace: ns1
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: local}
subjects:
- {kind: ServiceAccount, name: builder}
- {kind: Group, apiGroup: rbac.authorization.k8s.io, name: team}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: dangling
  namespace: ns1
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: missing}
subjects:
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: bob}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: healthz
rules:
- nonResourceURLs: ["/healthz/*"]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: healthz
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: healthz}
subjects:
- {kind: Group, apiGroup: rbac.authorization.k8s.io, name: probers}
`

func TestReview(t *testing.T) {
	var p Policy
	if err := p.AddManifest(docs(policyYAML)); err != nil {
		t.Fatal(err)
	}
	sa := "system:serviceaccount:ns2:default-editor"
	res := func(user string, groups []string, ns, verb, group, resource, sub, name string) authzv1.SubjectAccessReviewSpec {
		return authzv1.SubjectAccessReviewSpec{User: user, Groups: groups, ResourceAttributes: &authzv1.ResourceAttributes{
			Namespace: ns, Verb: verb, Group: group, Resource: resource, Subresource: sub, Name: name}}
	}
	for _, tc := range []struct {
		name    string
		spec    authzv1.SubjectAccessReviewSpec
		allowed bool
		err     string
	}{
		{"aggregated through two levels", res(sa, nil, "ns1", "list", "pipelines.kubeflow.org", "runs", "", ""), true, ""},
		{"a verb the rule does not name", res(sa, nil, "ns1", "create", "pipelines.kubeflow.org", "runs", "", ""), false, ""},
		{"another namespace", res(sa, nil, "ns2", "list", "pipelines.kubeflow.org", "runs", "", ""), false, ""},
		{"another group", res(sa, nil, "ns1", "list", "kubeflow.org", "runs", "", ""), false, ""},
		{"*/status covers any resource's status", res("alice", nil, "ns1", "get", "pipelines.kubeflow.org", "experiments", "status", ""), true, ""},
		{"a subresource the rule does not name", res("alice", nil, "ns1", "get", "pipelines.kubeflow.org", "runs", "log", ""), false, ""},
		{"a named resource", res("alice", nil, "ns1", "use", "", "serviceaccounts", "", "pipeline-runner"), true, ""},
		{"another name", res("alice", nil, "ns1", "use", "", "serviceaccounts", "", "default-editor"), false, ""},
		{"no name where the rule has names", res("alice", nil, "ns1", "use", "", "serviceaccounts", "", ""), false, ""},
		{"a ServiceAccount subject takes the binding's namespace", res("system:serviceaccount:ns1:builder", nil, "ns1", "delete", "apps", "configmaps", "", "x"), true, ""},
		{"the same ServiceAccount name elsewhere", res("system:serviceaccount:ns2:builder", nil, "ns1", "delete", "apps", "configmaps", "", ""), false, ""},
		{"a group subject", res("carol", []string{"team"}, "ns1", "patch", "", "configmaps", "", ""), true, ""},
		{"no groups, no group binding", res("team", nil, "ns1", "patch", "", "configmaps", "", ""), false, ""},
		{"a dangling roleRef denies with the error", res("bob", nil, "ns1", "get", "", "configmaps", "", ""), false, `clusterrole "missing" not found`},
		{"a non-resource URL by prefix", authzv1.SubjectAccessReviewSpec{User: "p", Groups: []string{"probers"},
			NonResourceAttributes: &authzv1.NonResourceAttributes{Path: "/healthz/etcd", Verb: "get"}}, true, ""},
		{"a non-resource URL outside the prefix", authzv1.SubjectAccessReviewSpec{User: "p", Groups: []string{"probers"},
			NonResourceAttributes: &authzv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}}, false, ""},
		{"no attributes", authzv1.SubjectAccessReviewSpec{User: "p"}, false, "neither"},
	} {
		// The Policy and its Index (the bulk evaluator of the isolation audit) answer alike.
		for _, ev := range []struct {
			name   string
			review func(authzv1.SubjectAccessReviewSpec) (bool, error)
		}{{"Policy", p.Review}, {"Index", p.Index().Review}} {
			t.Run(ev.name+"/"+tc.name, func(t *testing.T) {
				got, err := ev.review(tc.spec)
				if got != tc.allowed {
					t.Errorf("allowed = %v, want %v", got, tc.allowed)
				}
				switch {
				case tc.err == "" && err != nil:
					t.Errorf("unexpected error %v", err)
				case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
					t.Errorf("error = %v, want one with %q", err, tc.err)
				}
			})
		}
	}
}

func TestAddManifestRefusesUnknownFields(t *testing.T) {
	var p Policy
	err := p.AddManifest([][]byte{[]byte("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\nrulez: []\n")})
	if err == nil {
		t.Fatal("a misspelt field was accepted")
	}
}

func TestCloneIsIndependent(t *testing.T) {
	var p Policy
	if err := p.AddManifest(docs(policyYAML)); err != nil {
		t.Fatal(err)
	}
	c := p.Clone()
	c.RoleBindings[0].Name = "changed"
	c.ClusterRoles[0].Name = "changed"
	if p.RoleBindings[0].Name == "changed" || p.ClusterRoles[0].Name == "changed" {
		t.Fatal("Clone shares its slices with the original")
	}
}

func docs(s string) [][]byte {
	var out [][]byte
	for _, d := range strings.Split(s, "\n---\n") {
		out = append(out, []byte(d))
	}
	return out
}
