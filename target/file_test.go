package target

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseFileRejectsBadInputWithClearErrors(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"empty":                        {"", "empty"},
		"unknown key":                  {"gateway_url: http://gw\nusres: []\n", `unknown key "usres"`},
		"no gateway":                   {"pipeline_url: http://gw/pipeline\n", "gateway_url is required"},
		"not a URL":                    {"gateway_url: ftp://gw\n", "is not an http(s) URL"},
		"two passwords":                {"gateway_url: http://gw\nusers: [{email: a@b, password: x, password_env: Y}]\n", "exactly one of"},
		"no password":                  {"gateway_url: http://gw\nusers: [{email: a@b}]\n", "exactly one of"},
		"bad connector":                {"gateway_url: http://gw\nusers: [{email: a@b, password: x, connector: github}]\n", "not local or ldap"},
		"both TLS options":             {"gateway_url: https://gw\ntls: {skip_verify: true, ca_file: ca.pem}\n", "not both"},
		"not YAML":                     {"gateway_url: [unclosed\n", "not a valid target file"},
		"binary garbage":               {"\x00\x01\x02", "not a valid target file"},
		"auto without gateway":         {"kubeconfig: ./kc\nprofile: auto\n", "profile auto is chosen from the gateway's answers"},
		"pipeline_url without gateway": {"kubeconfig: ./kc\npipeline_url: http://gw/pipeline\n", "give gateway_url with them"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseFile([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestFileWithoutGateway: with kubeconfig and no gateway_url the file is a run of the Kubernetes-side checks:
// no pipeline or issuer URL, none of the gateway's capabilities, multi-user and kube from the profile and client.
func TestFileWithoutGateway(t *testing.T) {
	f, err := ParseFile([]byte("kubeconfig: ./kc\nprofile: kubeflow\nin_cluster_api_url: http://127.0.0.1:1\n" +
		"users: [{email: owner@example.com, namespace: team-a}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	tg, err := Planned(f, "", nil, Offers{Kube: true})
	if err != nil {
		t.Fatal(err)
	}
	if !tg.NoGateway() || tg.PipelineURL != "" || tg.IssuerURL != "" || tg.Name != "kubeconfig ./kc" {
		t.Errorf("no gateway %v, pipeline %q, issuer %q, name %q", tg.NoGateway(), tg.PipelineURL, tg.IssuerURL, tg.Name)
	}
	for _, c := range []Capability{CapGateway, CapDex, CapCookieSession, CapHTTPS} {
		if tg.Has(c) {
			t.Errorf("a description without a gateway offers %s", c)
		}
	}
	for _, c := range []Capability{CapMultiUser, CapKube, CapInCluster} {
		if !tg.Has(c) {
			t.Errorf("lacks %s: %v", c, tg.CapabilityList())
		}
	}
}

func TestFromFileResolvesPasswordsAndDefaults(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := ParseFile([]byte(`
gateway_url: https://kf.example.com/
profile: kubeflow
users:
  - {email: a@example.com, password_env: PW_A, namespace: ns-a}
  - {email: b@example.com, password_file: ` + pwFile + `, connector: ldap, username: bee}
`))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PW_A": "from-env"}
	tg, err := FromFile(f, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if tg.PipelineURL != "https://kf.example.com/pipeline" || tg.IssuerURL != "https://kf.example.com/dex" {
		t.Errorf("defaults: pipeline %s issuer %s", tg.PipelineURL, tg.IssuerURL)
	}
	if tg.Users[0].Password != "from-env" || tg.Users[1].Password != "from-file" {
		t.Errorf("passwords not resolved")
	}
	if tg.Users[1].LoginName() != "bee" || tg.Users[0].LoginName() != "a@example.com" {
		t.Errorf("login names: %q %q", tg.Users[0].LoginName(), tg.Users[1].LoginName())
	}
	if !tg.Has(CapHTTPS) || !tg.Has(CapDexLocal) || !tg.Has(CapMultiUser) {
		t.Errorf("capabilities %v", tg.CapabilityList())
	}
	if got := tg.Redactor.String("pw is from-env and from-file"); strings.Contains(got, "from-env") || strings.Contains(got, "from-file") {
		t.Errorf("passwords not registered with the redactor: %q", got)
	}
	delete(env, "PW_A")
	if _, err := FromFile(f, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err == nil ||
		!strings.Contains(err.Error(), "PW_A is not set") {
		t.Errorf("unset password_env: %v", err)
	}
}

func TestCAFileMustHoldACertificate(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, []byte("not a certificate"), 0o600)
	f, err := ParseFile([]byte("gateway_url: https://gw\ntls: {ca_file: " + ca + "}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromFile(f, nil); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("got %v", err)
	}
}

// TestDocumentedExamplesParse keeps the commented examples in docs/target-file.md and README.md valid target
// files: the first YAML block of each.
func TestDocumentedExamplesParse(t *testing.T) {
	for _, doc := range []string{"../docs/target-file.md", "../README.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		start := strings.Index(text, "```yaml\n")
		if start < 0 {
			t.Fatalf("%s has no yaml example", doc)
		}
		block := text[start+len("```yaml\n"):]
		block = block[:strings.Index(block, "```")]
		f, err := ParseFile([]byte(block))
		if err != nil {
			t.Errorf("%s: the example is not a valid target file: %v", doc, err)
			continue
		}
		if f.Profile != ProfileAuto || len(f.Checks) == 0 || f.Expected == "" {
			t.Errorf("%s: the example should show profile auto, checks and expected: %+v", doc, f)
		}
	}
}

func TestNewKeysAreValidatedAndRedacted(t *testing.T) {
	for in, want := range map[string]string{
		"gateway_url: http://gw\nin_cluster_api: {namespace: kubeflow, port: 8888}\n":                                             "namespace and name are required",
		"gateway_url: http://gw\nin_cluster_api: {namespace: k, name: ml-pipeline, port: 0}\n":                                    "not a TCP port",
		"gateway_url: http://gw\nchecks: [SETUP, '']\n":                                                                           "checks[1] is empty",
		"gateway_url: http://gw\nkubeconfig: k\nin_cluster_api_url: http://x\nin_cluster_api: {namespace: k, name: n, port: 1}\n": "not both",
		"gateway_url: http://gw\nin_cluster_api: {namespace: k, name: n, port: 1}\n":                                              "needs kubeconfig",
	} {
		if _, err := ParseFile([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
	f, err := ParseFile([]byte("gateway_url: http://gw\nusers: [{email: a@b, password: s3cret}, {email: c@d, password_env: PW}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := f.Redacted()
	if r.Users[0].Password != "[REDACTED]" || r.Users[1].PasswordEnv != "PW" || f.Users[0].Password != "s3cret" {
		t.Errorf("Redacted must replace inline passwords in a copy: %+v / %+v", r.Users, f.Users)
	}
}

// The description's capabilities key states what its addresses cannot show, either way; a name outside the
// vocabulary is an error naming it.
func TestDeclaredCapabilities(t *testing.T) {
	if _, err := ParseFile([]byte("gateway_url: http://127.0.0.1:1\ncapabilities: {runz: false}\n")); err == nil || !strings.Contains(err.Error(), `unknown capability "runz"`) {
		t.Fatalf("got %v, want the unknown capability named", err)
	}
	f, err := ParseFile([]byte("gateway_url: https://127.0.0.1:1\nprofile: kubeflow\ncapabilities: {runs: false, m2m: false}\nusers: [{email: a@b.c, password: x}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	tg, err := FromFile(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	for c, want := range map[Capability]bool{CapRuns: false, CapM2M: false, CapHTTPS: true, CapDexLocal: true, CapGateway: true, CapKube: false} {
		if tg.Has(c) != want {
			t.Errorf("%s: %t, want %t (have %v)", c, tg.Has(c), want, tg.CapabilityList())
		}
	}
}

// Planned derives the same capabilities as New would with the handles it offers, without reading a file or
// resolving a password.
func TestPlannedOffers(t *testing.T) {
	f := &File{GatewayURL: "http://127.0.0.1:<port>", Tier: TierEmbedded, Kubeconfig: "<kubeconfig>",
		Users: []UserSpec{{Email: "a@b.c", PasswordEnv: "NOT_SET_ANYWHERE", Connector: "local"}}}
	tg, err := Planned(f, "embedded:x", nil, Offers{Kube: true, Clock: true})
	if err != nil {
		t.Fatal(err)
	}
	if !tg.Has(CapKube) || !tg.Has(CapClock) || tg.Kube != nil || tg.Name != "embedded:x" {
		t.Errorf("planned: %v %+v", tg.CapabilityList(), tg)
	}
}
