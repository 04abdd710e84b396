package importer

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

var update = flag.Bool("update", false, "rewrite profile/profiles/kubeflow-*.yaml from the renderings")

// releases are the built-in server profiles imported from kubeflow/manifests' example install (DECISIONS:
// "Profiles from manifests"); testdata/kubeflow-manifests holds the renderings as published, unchanged.
var releases = []struct{ name, file, description string }{
	{"kubeflow-1.8", "v1.8.1.yaml", "kubeflow/manifests v1.8.1 (oidc-authservice, 302 to Dex, Dex v2.36.0, KFP 2.0.5)"},
	{"kubeflow-1.9", "v1.9.1.yaml", "kubeflow/manifests v1.9.1 (oauth2-proxy v7.6.0 sign-in page, Dex v2.39.1, KFP 2.3.0, m2m-dex-only)"},
	{"kubeflow-1.10", "v1.10.2.yaml", "kubeflow/manifests v1.10.2 (oauth2-proxy v7.7.1, Dex v2.41.1, KFP 2.5.0, m2m-dex-only)"},
	{"kubeflow-1.10-kind", "v1.10.2-m2m-dex-and-kind.yaml", "kubeflow/manifests v1.10.2 with the m2m-dex-and-kind overlay (cluster tokens at the gateway)"},
	{"kubeflow-1.11", "v1.11.0.yaml", "kubeflow/manifests v1.11.0 (oauth2-proxy v7.13.0, Dex v2.44.0, KFP 2.15.0, grpc-gateway v2 errors)"},
}

func importRelease(t *testing.T, file, name, description string) *Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "kubeflow-manifests", file))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(b, Options{Name: name, Description: description})
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(res.Warnings) > 0 {
		t.Errorf("%s: warnings: %v", file, res.Warnings)
	}
	return res
}

// TestBuiltinProfilesAreTheirReleases re-imports each rendering and fails when the built-in profile drifts from
// it (-update rewrites the files).
func TestBuiltinProfilesAreTheirReleases(t *testing.T) {
	for _, r := range releases {
		t.Run(r.name, func(t *testing.T) {
			start := time.Now()
			res := importRelease(t, r.file, r.name, r.description)
			t.Logf("%s: %d objects imported in %s", r.file, res.Objects, time.Since(start).Round(time.Millisecond))
			path := filepath.Join("..", "profiles", r.name+".yaml")
			if *update {
				y, err := yaml.Marshal(res.Profile)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append([]byte(builtinHeader(r.file, res)), y...), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := profile.Get(r.name)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, res.Profile) {
				a, _ := yaml.Marshal(got)
				b, _ := yaml.Marshal(res.Profile)
				t.Errorf("built-in profile %s drifted from %s (go test ./profile/importer -update):\n%s", r.name, r.file, lineDiff(string(a), string(b)))
			}
		})
	}
}

func builtinHeader(file string, res *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated from kubeflow/manifests' example install (profile/importer/testdata/kubeflow-manifests/%s) by\n", file)
	b.WriteString("# `go test ./profile/importer -run TestBuiltinProfilesAreTheirReleases -update`: do not edit; the test fails on drift.\n")
	b.WriteString("# `kfp-authcheck profile import --manifests FILE --format provenance` names the source of every field.\n")
	for _, u := range res.Underived {
		fmt.Fprintf(&b, "# not derived: %s: %s\n", u.Path, u.Reason)
	}
	for _, r := range res.Rewrites {
		fmt.Fprintf(&b, "# rewrite: %s\n", r)
	}
	var ids []string
	for id := range res.Profile.Expect.Verdicts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		for _, f := range res.Fields {
			if f.Path == "expect.verdicts."+id {
				fmt.Fprintf(&b, "# verdict %s %s: %s\n", id, f.Value, f.Source.Name)
			}
		}
	}
	return b.String()
}

func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	in := func(l []string, s string) bool {
		for _, x := range l {
			if x == s {
				return true
			}
		}
		return false
	}
	var out []string
	for _, l := range al {
		if !in(bl, l) {
			out = append(out, "- built-in: "+l)
		}
	}
	for _, l := range bl {
		if !in(al, l) {
			out = append(out, "+ imported: "+l)
		}
	}
	return strings.Join(out, "\n")
}

// TestReleaseRolesAreTheirReleases re-exports each rendering's Kubeflow ClusterRoles and fails when the release's
// roles fixture (fixtures/manifests/roles/<profile>.yaml, applied by the stacks and judged by RBAC-003) drifts
// from it; a rendering whose roles equal an earlier release's (the kind overlay) shares that fixture. -update
// writes the fixtures (then run -update again: the profiles name them).
func TestReleaseRolesAreTheirReleases(t *testing.T) {
	written := map[string]string{}
	for _, r := range releases {
		res := importRelease(t, r.file, r.name, r.description)
		body := string(res.RolesManifest)
		if body == "" {
			t.Fatalf("%s: no Kubeflow ClusterRoles exported", r.file)
		}
		if prev, ok := written[body]; ok {
			if res.Profile.Roles != prev && !*update {
				t.Errorf("%s: roles equal %s's but the profile names %q", r.name, prev, res.Profile.Roles)
			}
			continue
		}
		written[body] = r.name
		path := filepath.Join("..", "..", "fixtures", "manifests", fixtures.RolesDir, r.name+".yaml")
		if *update {
			header := fmt.Sprintf("# Kubeflow's ClusterRoles (the tree under kubeflow-admin, kubeflow-edit and kubeflow-view) as\n"+
				"# kubeflow/manifests ships them: %s (profile/importer/testdata/kubeflow-manifests/%s). Generated by\n"+
				"# `go test ./profile/importer -run TestReleaseRolesAreTheirReleases -update`: do not edit.\n", r.description, r.file)
			if err := os.WriteFile(path, []byte(header+body), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		fb, ok := fixtures.ReleaseRolesBody(r.name)
		if !ok {
			t.Errorf("%s: no roles fixture %s (-update writes it)", r.name, path)
			continue
		}
		if string(fb) != body {
			t.Errorf("roles fixture %s drifted from %s (-update):\n%s", path, r.file, lineDiff(string(fb), body))
		}
		if res.Profile.Roles != r.name {
			t.Errorf("%s: profile roles %q, want %q", r.name, res.Profile.Roles, r.name)
		}
	}
}
