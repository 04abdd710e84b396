// Package importer derives a server profile from a distribution's rendered manifests (what `kustomize build`,
// `helm template` or a distribution's generator writes): Dex's config, the gateway (oauth2-proxy or
// oidc-authservice), the mesh's identity objects, KFP's API server, and the RBAC, PodDefaults, Kubeflow Profiles and
// NetworkPolicies as shipped. Every field it sets carries its provenance (kind, namespace, name, key); what it cannot
// derive is listed, never guessed silently.
package importer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// Reason codes of an import that cannot proceed (exit 2 on the command line).
const (
	ReasonNotYAML       = "not-yaml"
	ReasonKustomization = "kustomization-not-rendered"
	ReasonNoObjects     = "no-objects"
	ReasonUnreadable    = "unreadable"
)

// Error is an input the importer refuses, with a stable reason code.
type Error struct {
	Reason string
	Msg    string
}

func (e *Error) Error() string { return e.Msg + " (" + e.Reason + ")" }

func refuse(reason, format string, args ...any) error {
	return &Error{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// Source is where a derived value comes from: an object and a key inside it, or a program default (Kind
// "default", Name the program and version) or a rule of the importer (Kind "rule").
type Source struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Key       string `json:"key,omitempty"`
}

func (s Source) String() string {
	var b strings.Builder
	b.WriteString(s.Kind)
	if s.Namespace != "" {
		b.WriteString(" " + s.Namespace + "/" + s.Name)
	} else {
		b.WriteString(" " + s.Name)
	}
	if s.Key != "" {
		b.WriteString(" [" + s.Key + "]")
	}
	return b.String()
}

// Field is one derived profile field (a JSON path of the profile) with its value as text and its source.
type Field struct {
	Path   string `json:"path"`
	Value  string `json:"value"`
	Source Source `json:"source"`
}

// Underived is a profile field the manifests do not decide, and what the import put there instead.
type Underived struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Result is an import: the profile, the provenance of each field, what could not be derived, the rewrites a run
// applies, the objects as shipped that checks judge (ClusterRoles, NetworkPolicies) and warnings.
type Result struct {
	Profile   *profile.Profile `json:"profile"`
	Fields    []Field          `json:"fields"`
	Underived []Underived      `json:"underived,omitempty"`
	Rewrites  []string         `json:"rewrites,omitempty"`
	Warnings  []string         `json:"warnings,omitempty"`
	// ClusterRoles are Kubeflow's roles as the manifests ship them (names), for RBAC-003.
	ClusterRoles []string `json:"cluster_roles,omitempty"`
	// RolesManifest is Kubeflow's ClusterRole tree as shipped, as YAML documents (profile.roles names the
	// release fixture equal to it).
	RolesManifest []byte `json:"-"`
	// NetworkPolicies in front of Dex, the gateway and ml-pipeline: "namespace/name: summary".
	NetworkPolicies []string `json:"network_policies,omitempty"`
	Objects         int      `json:"objects"`
	Elapsed         Duration `json:"elapsed"`
}

// Duration prints as Go spells durations.
type Duration struct{ time.Duration }

// MarshalJSON writes "12.3ms".
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// Options name the imported profile.
type Options struct {
	Name        string
	Description string
}

// ReadInput reads FILE, every *.yaml/*.yml/*.json of DIR (sorted, not recursive), or "-" for stdin.
func ReadInput(path string, stdin io.Reader) ([]byte, string, error) {
	if path == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, 256<<20))
		if err != nil {
			return nil, "", refuse(ReasonUnreadable, "read stdin: %v", err)
		}
		return b, "stdin", nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", refuse(ReasonUnreadable, "%v", err)
	}
	if !st.IsDir() {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, "", refuse(ReasonUnreadable, "%v", err)
		}
		return b, path, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, "", refuse(ReasonUnreadable, "%v", err)
	}
	var buf bytes.Buffer
	n := 0
	for _, e := range ents {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(path, e.Name()))
		if err != nil {
			return nil, "", refuse(ReasonUnreadable, "%v", err)
		}
		buf.WriteString("\n---\n")
		buf.Write(b)
		n++
	}
	if n == 0 {
		return nil, "", refuse(ReasonNoObjects, "%s holds no .yaml, .yml or .json file", path)
	}
	return buf.Bytes(), path, nil
}

// object is one manifest with its identity.
type object struct {
	u *unstructured.Unstructured
}

func (o object) kind() string { return o.u.GetKind() }
func (o object) ns() string   { return o.u.GetNamespace() }
func (o object) name() string { return o.u.GetName() }
func (o object) src(key string) Source {
	return Source{Kind: o.kind(), Namespace: o.ns(), Name: o.name(), Key: key}
}

// parse splits multi-document YAML (or JSON) into objects. A List is flattened.
func parse(b []byte) ([]object, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, refuse(ReasonNoObjects, "the input is empty")
	}
	r := utilyaml.NewYAMLReader(bufio.NewReaderSize(bytes.NewReader(b), 64<<10))
	var out []object
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, refuse(ReasonNotYAML, "document %d: %v", i+1, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, refuse(ReasonNotYAML, "document %d is not YAML: %v", i+1, err)
		}
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "Kustomization" || (u.GetKind() == "" && (m["resources"] != nil || m["components"] != nil || m["patches"] != nil || m["bases"] != nil)) {
			return nil, refuse(ReasonKustomization, "document %d is a kustomization, not rendered output: run `kustomize build` (or `helm template`) and import what it writes", i+1)
		}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, refuse(ReasonNotYAML, "document %d is not a Kubernetes object (no apiVersion and kind)", i+1)
		}
		if u.IsList() {
			l, err := u.ToList()
			if err != nil {
				return nil, refuse(ReasonNotYAML, "document %d: %v", i+1, err)
			}
			for j := range l.Items {
				out = append(out, object{u: &l.Items[j]})
			}
			continue
		}
		out = append(out, object{u: u})
	}
	if len(out) == 0 {
		return nil, refuse(ReasonNoObjects, "the input holds no Kubernetes object")
	}
	return out, nil
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		out = append(out, l...)
		out = append(out, '\n')
	}
	return out
}

// Import derives a profile from rendered manifests.
func Import(b []byte, opt Options) (*Result, error) {
	start := time.Now()
	objs, err := parse(b)
	if err != nil {
		return nil, err
	}
	if opt.Name == "" {
		opt.Name = "imported"
	}
	im := &importer{objs: objs, res: &Result{Objects: len(objs)}}
	p := &profile.Profile{Name: opt.Name, Description: opt.Description}
	im.res.Profile = p
	im.derive(p)
	sort.SliceStable(im.res.Fields, func(i, j int) bool { return im.res.Fields[i].Path < im.res.Fields[j].Path })
	if p.Dex != nil || p.Gateway != nil {
		if err := p.Validate(); err != nil {
			im.res.Warnings = append(im.res.Warnings, "the imported profile is incomplete: "+err.Error())
		}
	}
	im.res.Elapsed = Duration{time.Since(start)}
	return im.res, nil
}

type importer struct {
	staticUsers []staticUser
	objs        []object
	res         *Result
}

func (im *importer) set(path string, v any, s Source) {
	im.res.Fields = append(im.res.Fields, Field{Path: path, Value: fmt.Sprint(v), Source: s})
}

func (im *importer) underived(path, format string, args ...any) {
	im.res.Underived = append(im.res.Underived, Underived{Path: path, Reason: fmt.Sprintf(format, args...)})
}

func (im *importer) warn(format string, args ...any) {
	im.res.Warnings = append(im.res.Warnings, fmt.Sprintf(format, args...))
}

func (im *importer) find(kind, ns, name string) (object, bool) {
	for _, o := range im.objs {
		if o.kind() == kind && o.name() == name && (ns == "" || o.ns() == ns) {
			return o, true
		}
	}
	return object{}, false
}

func (im *importer) ofKind(kind string) []object {
	var out []object
	for _, o := range im.objs {
		if o.kind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// Redacted is a copy of p with its secrets (the gateway's client secret, the LDAP bind password, users'
// passwords) replaced, for output.
func Redacted(p *profile.Profile) *profile.Profile {
	c := *p
	if p.Gateway != nil {
		g := *p.Gateway
		if g.ClientSecret != "" {
			g.ClientSecret = "(redacted)"
		}
		c.Gateway = &g
	}
	if p.Dex != nil {
		d := *p.Dex
		if d.LDAP != nil {
			l := *d.LDAP
			if l.BindPW != "" {
				l.BindPW = "(redacted)"
			}
			d.LDAP = &l
		}
		c.Dex = &d
	}
	c.Users = nil
	for _, u := range p.Users {
		u.Password = "(redacted)"
		c.Users = append(c.Users, u)
	}
	return &c
}
