package importer

import (
	"encoding/base64"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// container is one container of a workload (Deployment, StatefulSet, DaemonSet) in the manifests.
type container struct {
	owner object
	c     map[string]any
	pod   map[string]any
}

func (c container) name() string  { s, _ := c.c["name"].(string); return s }
func (c container) image() string { s, _ := c.c["image"].(string); return s }

// tag is the image's tag ("v2.41.1"), or its digest when it has no tag.
func (c container) tag() string {
	img := c.image()
	if i := strings.Index(img, "@"); i >= 0 {
		if j := strings.LastIndex(img[:i], ":"); j > strings.LastIndex(img[:i], "/") {
			return img[j+1 : i]
		}
		return img[i+1:]
	}
	if j := strings.LastIndex(img, ":"); j > strings.LastIndex(img, "/") {
		return img[j+1:]
	}
	return ""
}

func (c container) src() Source {
	return c.owner.src("containers[" + c.name() + "].image")
}

// containers lists the containers of every workload whose image repository contains one of the words.
func (im *importer) containers(words ...string) []container {
	var out []container
	for _, o := range im.objs {
		switch o.kind() {
		case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
		default:
			continue
		}
		pod, _, _ := unstructured.NestedMap(o.u.Object, "spec", "template", "spec")
		cs, _, _ := unstructured.NestedSlice(o.u.Object, "spec", "template", "spec", "containers")
		for _, ci := range cs {
			c, ok := ci.(map[string]any)
			if !ok {
				continue
			}
			img, _ := c["image"].(string)
			repo := img
			if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
				repo = repo[:i]
			}
			for _, w := range words {
				if strings.Contains(path.Base(repo), w) {
					out = append(out, container{owner: o, c: c, pod: pod})
					break
				}
			}
		}
	}
	return out
}

// value is a resolved setting with where it came from.
type value struct {
	v   string
	src Source
}

// env resolves a container's environment: envFrom (ConfigMap and Secret refs, every key) then env (value, or
// configMapKeyRef / secretKeyRef), later entries winning as in Kubernetes. fieldRef and other sources are
// left out.
func (im *importer) env(c container) map[string]value {
	out := map[string]value{}
	ns := c.owner.ns()
	if ef, ok := c.c["envFrom"].([]any); ok {
		for _, e := range ef {
			m, _ := e.(map[string]any)
			prefix, _ := m["prefix"].(string)
			for _, kind := range []string{"configMapRef", "secretRef"} {
				ref, ok := m[kind].(map[string]any)
				if !ok {
					continue
				}
				name, _ := ref["name"].(string)
				k := "ConfigMap"
				if kind == "secretRef" {
					k = "Secret"
				}
				for key, v := range im.data(k, ns, name) {
					out[prefix+key] = v
				}
			}
		}
	}
	if es, ok := c.c["env"].([]any); ok {
		for _, e := range es {
			m, _ := e.(map[string]any)
			name, _ := m["name"].(string)
			if v, ok := m["value"].(string); ok {
				out[name] = value{v: v, src: c.owner.src("containers[" + c.name() + "].env." + name)}
				continue
			}
			vf, _ := m["valueFrom"].(map[string]any)
			for _, kind := range []string{"configMapKeyRef", "secretKeyRef"} {
				ref, ok := vf[kind].(map[string]any)
				if !ok {
					continue
				}
				n, _ := ref["name"].(string)
				key, _ := ref["key"].(string)
				k := "ConfigMap"
				if kind == "secretKeyRef" {
					k = "Secret"
				}
				if v, ok := im.data(k, ns, n)[key]; ok {
					out[name] = v
				}
			}
		}
	}
	return out
}

// data is a ConfigMap's data or a Secret's data (decoded) and stringData, each key with its source.
func (im *importer) data(kind, ns, name string) map[string]value {
	o, ok := im.find(kind, ns, name)
	if !ok {
		return nil
	}
	out := map[string]value{}
	d, _, _ := unstructured.NestedMap(o.u.Object, "data")
	for k, v := range d {
		s, _ := v.(string)
		if kind == "Secret" {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				im.warn("%s %s/%s key %s is not base64; taken as it is", kind, ns, name, k)
			} else {
				s = string(b)
			}
		}
		out[k] = value{v: s, src: o.src(k)}
	}
	sd, _, _ := unstructured.NestedMap(o.u.Object, "stringData")
	for k, v := range sd {
		s, _ := v.(string)
		out[k] = value{v: s, src: o.src(k)}
	}
	return out
}

// file resolves a path inside a container to the ConfigMap or Secret key mounted there.
func (im *importer) file(c container, p string) (value, bool) {
	mounts, _ := c.c["volumeMounts"].([]any)
	vols, _ := c.pod["volumes"].([]any)
	for _, mi := range mounts {
		m, _ := mi.(map[string]any)
		mp, _ := m["mountPath"].(string)
		vname, _ := m["name"].(string)
		sub, _ := m["subPath"].(string)
		var rel string
		switch {
		case sub != "" && mp == p:
			rel = sub
		case sub == "" && strings.HasPrefix(p, strings.TrimSuffix(mp, "/")+"/"):
			rel = strings.TrimPrefix(p, strings.TrimSuffix(mp, "/")+"/")
		default:
			continue
		}
		for _, vi := range vols {
			v, _ := vi.(map[string]any)
			if n, _ := v["name"].(string); n != vname {
				continue
			}
			for kind, field := range map[string]string{"ConfigMap": "configMap", "Secret": "secret"} {
				ref, ok := v[field].(map[string]any)
				if !ok {
					continue
				}
				name, _ := ref["name"].(string)
				if name == "" {
					name, _ = ref["secretName"].(string)
				}
				key := rel
				if items, ok := ref["items"].([]any); ok {
					for _, it := range items {
						m, _ := it.(map[string]any)
						if ip, _ := m["path"].(string); ip == rel {
							key, _ = m["key"].(string)
						}
					}
				}
				if val, ok := im.data(kind, c.owner.ns(), name)[key]; ok {
					return val, true
				}
			}
		}
	}
	return value{}, false
}

// command is a container's command and args in one list.
func (c container) command() []string {
	var out []string
	for _, k := range []string{"command", "args"} {
		if l, ok := c.c[k].([]any); ok {
			for _, a := range l {
				if s, ok := a.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}
