package importer

import (
	"bytes"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// kubeflowRoleRoots are the ClusterRoles Kubeflow binds (namespaceAdmin, default-editor, default-viewer and
// KFAM's contributors): the roots of its aggregation tree.
var kubeflowRoleRoots = []string{"kubeflow-admin", "kubeflow-edit", "kubeflow-view"}

// exportRoles is Kubeflow's ClusterRoles as the manifests ship them: the roots and, transitively, every
// ClusterRole their aggregationRules select, sorted by name, each with its name, its
// rbac.authorization.kubeflow.org labels (what aggregation reads), aggregationRule and rules unchanged. Nil
// when the manifests have none of the roots.
func (im *importer) exportRoles() []byte {
	byName := map[string]object{}
	for _, o := range im.ofKind("ClusterRole") {
		byName[o.name()] = o
	}
	in := map[string]bool{}
	var queue []string
	for _, r := range kubeflowRoleRoots {
		if _, ok := byName[r]; ok {
			in[r] = true
			queue = append(queue, r)
		}
	}
	for len(queue) > 0 {
		o := byName[queue[0]]
		queue = queue[1:]
		sels, _, _ := unstructured.NestedSlice(o.u.Object, "aggregationRule", "clusterRoleSelectors")
		for _, s := range sels {
			b, err := yaml.Marshal(s)
			if err != nil {
				continue
			}
			var ls metav1.LabelSelector
			if yaml.Unmarshal(b, &ls) != nil {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(&ls)
			if err != nil {
				continue
			}
			for n, other := range byName {
				if !in[n] && sel.Matches(labels.Set(other.u.GetLabels())) {
					in[n] = true
					queue = append(queue, n)
				}
			}
		}
	}
	if len(in) == 0 {
		return nil
	}
	names := make([]string, 0, len(in))
	for n := range in {
		names = append(names, n)
	}
	sort.Strings(names)
	var out bytes.Buffer
	for i, n := range names {
		o := byName[n]
		meta := map[string]any{"name": n}
		ls := map[string]any{}
		for k, v := range o.u.GetLabels() {
			if strings.HasPrefix(k, aggregationLabelPrefix) {
				ls[k] = v
			}
		}
		if len(ls) > 0 {
			meta["labels"] = ls
		}
		doc := map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta}
		if a, ok := o.u.Object["aggregationRule"]; ok {
			doc["aggregationRule"] = a
		}
		if r, ok := o.u.Object["rules"]; ok && r != nil {
			doc["rules"] = r
		} else {
			doc["rules"] = []any{}
		}
		b, err := yaml.Marshal(doc)
		if err != nil {
			continue
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(b)
	}
	return out.Bytes()
}

const aggregationLabelPrefix = "rbac.authorization.kubeflow.org/"

// deriveRoles names the release whose roles fixture equals the manifests' roles (profile.roles), or keeps them in
// memory for this run when none does.
func (im *importer) deriveRoles(p *profile.Profile) {
	body := im.exportRoles()
	im.res.RolesManifest = body
	if body == nil {
		im.underived("roles", "no kubeflow-admin, kubeflow-edit or kubeflow-view ClusterRole: the harness's default Kubeflow roles apply")
		return
	}
	for _, r := range fixtures.ReleaseRoles() {
		if fb, _ := fixtures.ReleaseRolesBody(r); bytes.Equal(fb, body) {
			p.Roles = r
			im.set("roles", r, Source{Kind: "ClusterRole", Name: "kubeflow-admin, kubeflow-edit, kubeflow-view and what they aggregate"})
			return
		}
	}
	p.RolesManifest = body
	im.underived("roles", "the ClusterRoles match no built-in release's: a run of these manifests (run --manifests) applies them as shipped; a profile file written from this import gets the harness's default roles")
}
