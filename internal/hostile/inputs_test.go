package hostile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/report/deviation"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// aliasBomb is a document under 1 MiB that expands to about 340 MB: one 1000-character scalar aliased 340,000
// times. go-yaml's own guard catches nested aliases only; decoded, it took 2 GB of memory.
func aliasBomb(prefix, item string, n int) string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(`[&s "` + strings.Repeat("S", 1000) + `"`)
	for range n {
		b.WriteString("," + item)
	}
	b.WriteString("]\n")
	return b.String()
}

// TestHostileInputs: every file the tool reads, fed what a careless or hostile operator could give, is refused
// with an error that names the problem (the CLI turns each into exit 2).
func TestHostileInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	loadTarget := func(content string) func() error {
		return func() error {
			_, err := target.LoadFile(write("target.yaml", content, 0o600))
			return err
		}
	}
	buildTarget := func(content string) func() error {
		return func() error {
			f, err := target.LoadFile(write("target.yaml", content, 0o600))
			if err != nil {
				return err
			}
			_, err = target.FromFile(f, func(string) (string, bool) { return "", false })
			return err
		}
	}
	loadExpected := func(content string) func() error {
		return func() error {
			_, err := deviation.Load(write("expected.yaml", content, 0o600))
			return err
		}
	}
	cases := []struct {
		name string
		run  func() error
		want string // the error must contain it: the limit or the problem, named
	}{
		{"target: 340,000 aliases of a long scalar", loadTarget(aliasBomb("gateway_url: http://127.0.0.1:1\nchecks: ", "*s", 340_000)),
			"aliases expand the document beyond the limit of 100000 nodes"},
		{"target: larger than 1 MiB", loadTarget("gateway_url: http://127.0.0.1:1\n#" + strings.Repeat("x", 1<<20)),
			"larger than the limit of 1 MiB"},
		{"target: a second YAML document", loadTarget("gateway_url: http://127.0.0.1:1\n---\ngateway_url: http://evil:1\n"),
			"more than one YAML document"},
		{"target: gateway_url port 99999", loadTarget("gateway_url: http://127.0.0.1:99999\n"),
			"port 99999 is not a TCP port"},
		{"target: kubeconfig that does not exist", loadTarget("gateway_url: http://127.0.0.1:1\nkubeconfig: absent.kubeconfig\n"),
			"kubeconfig"},
		{"target: password_file /dev/zero", buildTarget("gateway_url: http://127.0.0.1:1\nusers: [{email: a@b, password_file: /dev/zero}]\n"),
			"password_file /dev/zero is larger than the limit of 64 KiB"},
		{"target: tls.ca_file /dev/zero", buildTarget("gateway_url: https://127.0.0.1:1\ntls: {ca_file: /dev/zero}\n"),
			"tls.ca_file /dev/zero is larger than the limit of 4 MiB"},
		{"expected: 30,000 aliases of a long reason", loadExpected("deviations: " + aliasBomb("", `{checks: X, reason: *s}`, 30_000)),
			"aliases expand the document beyond the limit"},
		{"expected: larger than 1 MiB", loadExpected("deviations: []\n#" + strings.Repeat("x", 13<<20)),
			"larger than the limit of 1 MiB"},
		{"expected: /dev/zero", func() error { _, err := deviation.Load("/dev/zero"); return err },
			"larger than the limit of 1 MiB"},
		{"expected: a second YAML document", loadExpected("deviations: []\n---\ndeviations: [{checks: '*', reason: all}]\n"),
			"more than one YAML document"},
		{"profile file: aliases", func() error {
			_, err := profile.Load(write("p.yaml", aliasBomb("name: x\ndescription: ", "*s", 300_000), 0o600))
			return err
		}, "aliases expand the document beyond the limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil {
				t.Fatalf("accepted; want an error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", trim(err.Error()), c.want)
			}
		})
	}
}

// TestWorldReadablePasswordFileWarns: a password other users can read is used, but the run says so first.
func TestWorldReadablePasswordFileWarns(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &target.File{GatewayURL: "http://127.0.0.1:1", Users: []target.UserSpec{{Email: "a@b", PasswordFile: pw}}}
	tg, err := target.FromFile(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Warnings) != 1 || !strings.Contains(tg.Warnings[0], "readable by every user") {
		t.Fatalf("warnings %q, want one about the world-readable password_file", tg.Warnings)
	}
	if err := os.Chmod(pw, 0o600); err != nil {
		t.Fatal(err)
	}
	if tg, err = target.FromFile(f, nil); err != nil || len(tg.Warnings) != 0 {
		t.Fatalf("a 0600 password_file: warnings %q, err %v", tg.Warnings, err)
	}
}

func trim(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
