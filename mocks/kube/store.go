package kube

import (
	"fmt"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// resource describes one served resource: where it lives in the REST tree and how to make its objects.
type resource struct {
	group, version, plural, kind string
	namespaced                   bool
	newObj                       func() runtime.Object
	// list wraps stored objects in the typed List, for client-go to decode.
	list func(items []runtime.Object, rv string) runtime.Object
}

func (r *resource) gr() schema.GroupResource {
	return schema.GroupResource{Group: r.group, Resource: r.plural}
}

func (r *resource) apiVersion() string {
	if r.group == "" {
		return r.version
	}
	return r.group + "/" + r.version
}

const (
	resNamespaces          = "namespaces"
	resServiceAccounts     = "serviceaccounts"
	resRoles               = "roles"
	resRoleBindings        = "rolebindings"
	resClusterRoles        = "clusterroles"
	resClusterRoleBindings = "clusterrolebindings"
)

var resources = map[string]*resource{
	resNamespaces: {version: "v1", plural: resNamespaces, kind: "Namespace",
		newObj: func() runtime.Object { return &corev1.Namespace{} },
		list: func(items []runtime.Object, rv string) runtime.Object {
			l := &corev1.NamespaceList{ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: []corev1.Namespace{}}
			for _, o := range items {
				l.Items = append(l.Items, *o.(*corev1.Namespace))
			}
			return l
		}},
	resServiceAccounts: {version: "v1", plural: resServiceAccounts, kind: "ServiceAccount", namespaced: true,
		newObj: func() runtime.Object { return &corev1.ServiceAccount{} },
		list: func(items []runtime.Object, rv string) runtime.Object {
			l := &corev1.ServiceAccountList{ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: []corev1.ServiceAccount{}}
			for _, o := range items {
				l.Items = append(l.Items, *o.(*corev1.ServiceAccount))
			}
			return l
		}},
	resRoles: {group: rbacv1.GroupName, version: "v1", plural: resRoles, kind: "Role", namespaced: true,
		newObj: func() runtime.Object { return &rbacv1.Role{} },
		list: func(items []runtime.Object, rv string) runtime.Object {
			l := &rbacv1.RoleList{ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: []rbacv1.Role{}}
			for _, o := range items {
				l.Items = append(l.Items, *o.(*rbacv1.Role))
			}
			return l
		}},
	resRoleBindings: {group: rbacv1.GroupName, version: "v1", plural: resRoleBindings, kind: "RoleBinding", namespaced: true,
		newObj: func() runtime.Object { return &rbacv1.RoleBinding{} },
		list: func(items []runtime.Object, rv string) runtime.Object {
			l := &rbacv1.RoleBindingList{ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: []rbacv1.RoleBinding{}}
			for _, o := range items {
				l.Items = append(l.Items, *o.(*rbacv1.RoleBinding))
			}
			return l
		}},
	resClusterRoles: {group: rbacv1.GroupName, version: "v1", plural: resClusterRoles, kind: "ClusterRole",
		newObj: func() runtime.Object { return &rbacv1.ClusterRole{} },
		list: func(items []runtime.Object, rv string) runtime.Object {
			l := &rbacv1.ClusterRoleList{ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: []rbacv1.ClusterRole{}}
			for _, o := range items {
				l.Items = append(l.Items, *o.(*rbacv1.ClusterRole))
			}
			return l
		}},
	resClusterRoleBindings: {group: rbacv1.GroupName, version: "v1", plural: resClusterRoleBindings, kind: "ClusterRoleBinding",
		newObj: func() runtime.Object { return &rbacv1.ClusterRoleBinding{} },
		list: func(items []runtime.Object, rv string) runtime.Object {
			l := &rbacv1.ClusterRoleBindingList{ListMeta: metav1.ListMeta{ResourceVersion: rv}, Items: []rbacv1.ClusterRoleBinding{}}
			for _, o := range items {
				l.Items = append(l.Items, *o.(*rbacv1.ClusterRoleBinding))
			}
			return l
		}},
}

func key(ns, name string) string { return ns + "/" + name }

// sortedObjects returns the stored objects of one resource (in ns, or all for "") in name order, typed. The
// caller holds s.mu.
func sortedObjects[T runtime.Object](s *Server, res, ns string) []T {
	var keys []string
	for k := range s.objects[res] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []T
	for _, k := range keys {
		o := s.objects[res][k]
		if ns != "" && metaOf(o).GetNamespace() != ns {
			continue
		}
		out = append(out, o.(T))
	}
	return out
}

func metaOf(o runtime.Object) metav1.Object {
	m, ok := o.(metav1.Object)
	if !ok {
		panic(fmt.Sprintf("kube: %T has no ObjectMeta", o))
	}
	return m
}

// nextResourceVersion bumps the store's counter; the caller holds s.mu for writing.
func (s *Server) nextResourceVersion() string {
	s.rv++
	return strconv.FormatInt(s.rv, 10)
}
