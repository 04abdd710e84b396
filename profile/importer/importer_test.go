package importer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func reason(err error) string {
	var ie *Error
	if errors.As(err, &ie) {
		return ie.Reason
	}
	return ""
}

func TestBadInputIsRefusedWithAReason(t *testing.T) {
	for _, c := range []struct {
		name, in, reason string
	}{
		{"not YAML", "this: is: not: yaml: [", ReasonNotYAML},
		{"binary", "\x00\x01\x02garbage", ReasonNotYAML},
		{"a kustomization", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../base\n", ReasonKustomization},
		{"a kustomization without kind", "resources:\n- ../common/dex/base\n", ReasonKustomization},
		{"YAML but no object", "foo: bar\n", ReasonNotYAML},
		{"empty", "\n# only a comment\n---\n", ReasonNoObjects},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Import([]byte(c.in), Options{})
			if got := reason(err); got != c.reason {
				t.Fatalf("reason %q (err %v), want %q", got, err, c.reason)
			}
		})
	}
}

func TestNoDexIsImportedWithAWarning(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "kubeflow-manifests", "v1.10.2.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Drop every object of namespace auth (Dex, its config and secrets): another identity provider.
	var keep []string
	for _, doc := range strings.Split(string(b), "\n---\n") {
		if !strings.Contains(doc, "namespace: auth\n") {
			keep = append(keep, doc)
		}
	}
	res, err := Import([]byte(strings.Join(keep, "\n---\n")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Profile.Dex != nil {
		t.Fatalf("Dex derived from manifests without Dex: %+v", res.Profile.Dex)
	}
	if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "not supported yet") {
		t.Fatalf("warnings %v, want the identity provider is not supported", res.Warnings)
	}
	if res.Profile.Gateway == nil || res.Profile.KFP.Version != "2.5.0" {
		t.Fatalf("the gateway and KFP are still recorded: %+v %+v", res.Profile.Gateway, res.Profile.KFP)
	}
}

// TestEveryFieldHasASource: each derived field names an object of the input (or a program default or rule), and
// the facts of the issue come from where they are in the manifests.
func TestEveryFieldHasASource(t *testing.T) {
	res := importRelease(t, "v1.8.1.yaml", "x", "")
	want := map[string]string{
		"dex.skip_approval_screen": "ConfigMap auth/dex [config.yaml: oauth2.skipApprovalScreen]",
		"gateway.client_id":        "Secret istio-system/oidc-authservice-client [CLIENT_ID]",
		"kfp.version":              "Deployment kubeflow/ml-pipeline [containers[ml-pipeline-api-server].image]",
		"kfp.ui_policy":            "AuthorizationPolicy kubeflow/ml-pipeline-ui [spec.rules]",
	}
	for _, f := range res.Fields {
		if f.Source.Kind == "" || f.Source.Name == "" {
			t.Errorf("%s has no source", f.Path)
		}
		if w, ok := want[f.Path]; ok {
			if f.Source.String() != w {
				t.Errorf("%s from %s, want %s", f.Path, f.Source, w)
			}
			delete(want, f.Path)
		}
	}
	for p := range want {
		t.Errorf("%s not derived", p)
	}
	if res.Profile.Expect.ApprovalScreen || !res.Profile.Dex.SkipApprovalScreen || res.Profile.Gateway.CookieHTTPOnly || res.Profile.Gateway.CookieSecure {
		t.Errorf("kubeflow-1.8: approval screen %v, skip %v, HttpOnly %v, Secure %v; want no screen, skip, neither flag",
			res.Profile.Expect.ApprovalScreen, res.Profile.Dex.SkipApprovalScreen, res.Profile.Gateway.CookieHTTPOnly, res.Profile.Gateway.CookieSecure)
	}
}

// TestReleaseFacts pins what differs between the releases.
func TestReleaseFacts(t *testing.T) {
	for _, c := range []struct {
		file, dex, gateway, kfp, format string
		m2m                             int
	}{
		{"v1.8.1.yaml", "v2.36.0", "e236439", "2.0.5", "grpc-gateway-v1", 0},
		{"v1.9.1.yaml", "v2.39.1", "v7.6.0", "2.3.0", "grpc-gateway-v1", 0},
		{"v1.10.2.yaml", "v2.41.1", "v7.7.1", "2.5.0", "grpc-gateway-v1", 0},
		{"v1.10.2-m2m-dex-and-kind.yaml", "v2.41.1", "v7.7.1", "2.5.0", "grpc-gateway-v1", 2},
		{"v1.11.0.yaml", "v2.44.0", "v7.13.0", "2.15.0", "grpc-gateway-v2", 0},
	} {
		p := importRelease(t, c.file, "x", "").Profile
		if p.Dex.Version != c.dex || p.Gateway.Version != c.gateway || p.KFP.Version != c.kfp || p.KFP.ErrorFormat != c.format || len(p.Gateway.M2MIssuers()) != c.m2m {
			t.Errorf("%s: Dex %s, gateway %s, KFP %s %s, %d M2M issuers; want %+v", c.file, p.Dex.Version, p.Gateway.Version,
				p.KFP.Version, p.KFP.ErrorFormat, len(p.Gateway.M2MIssuers()), c)
		}
		if len(p.Users) != 1 || p.Users[0].Password != TestPassword || p.Users[0].Namespace != "kubeflow-user-example-com" {
			t.Errorf("%s: users %+v, want user@example.com rewritten to the test password in its namespace", c.file, p.Users)
		}
	}
}

func TestReadInputDirectoryAndStdin(t *testing.T) {
	dir := t.TempDir()
	b, _ := os.ReadFile(filepath.Join("testdata", "kubeflow-manifests", "v1.9.1.yaml"))
	half := len(b) / 2
	i := strings.Index(string(b[half:]), "\n---\n") + half
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), b[:i], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.yml"), b[i+5:], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not read"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, _, err := ReadInput(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	whole := importRelease(t, "v1.9.1.yaml", "imported", "")
	if res.Objects != whole.Objects || res.Profile.Gateway.Version != "v7.6.0" {
		t.Fatalf("directory: %d objects, want %d", res.Objects, whole.Objects)
	}
	if _, _, err := ReadInput(t.TempDir(), nil); reason(err) != ReasonNoObjects {
		t.Fatalf("empty directory: %v", err)
	}
	in, src, err := ReadInput("-", strings.NewReader(string(b)))
	if err != nil || src != "stdin" || len(in) != len(b) {
		t.Fatalf("stdin: %v %s %d", err, src, len(in))
	}
}
