package target

import (
	"strings"
	"testing"
)

// FuzzParseFile: any bytes give a parsed, valid file or an error, never a panic; a file that parses validates,
// and its redacted copy holds no inline password.
func FuzzParseFile(f *testing.F) {
	for _, seed := range []string{
		"gateway_url: http://127.0.0.1:1\n",
		`{"gateway_url": "https://kf.example.com", "tls": {"skip_verify": true}}`,
		"gateway_url: http://h:8080\nusers: [{email: a@b, password: s3cret-pw, namespace: ns}]\nchecks: [SETUP, ISO-00*]\n",
		"gateway_url: http://h\nin_cluster_api: {namespace: kubeflow, name: ml-pipeline, port: 8888}\n",
		"gateway_url: http://127.0.0.1:99999\n",
		"gateway_url: http://h\n---\nprofile: kubeflow\n",
		"checks: [&a x, *a, *a, *a]\ngateway_url: http://h\n",
		"a: &a [*a]\n",
		"gateway_url: http://h\ncapabilities: {runs: false}\n",
		"gatway: typo\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tf, err := ParseFile(b)
		if err != nil {
			return
		}
		if err := tf.Validate(); err != nil {
			t.Fatalf("ParseFile accepted a file Validate refuses: %v", err)
		}
		red, err := tf.Redacted().Marshal()
		if err != nil {
			t.Fatalf("marshal the redacted file: %v", err)
		}
		for _, u := range tf.Users {
			if len(u.Password) >= 8 && !strings.Contains("[REDACTED]", u.Password) && strings.Contains(string(red), u.Password) &&
				!strings.Contains(u.Email+u.Username+u.Namespace+u.Connector+tf.GatewayURL, u.Password) {
				t.Fatalf("the redacted file keeps the password %q:\n%s", u.Password, red)
			}
		}
	})
}
