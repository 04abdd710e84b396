package image

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestImageIsReproducibleAndLoadable builds the image twice from the same file (same digest), writes the
// tarball, and reads it back the way docker load would: one layer holding the binary, executable, and a config
// that runs `kfp-authcheck probe` as a non-root user.
func TestImageIsReproducibleAndLoadable(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "kfp-authcheck")
	payload := []byte("\x7fELF stand-in for the static binary")
	if err := os.WriteFile(bin, payload, 0o755); err != nil {
		t.Fatal(err)
	}
	a, err := Build(bin, "v0.0.0-test")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(bin, "v0.0.0-test")
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("two builds of one binary differ: %s, %s", da, db)
	}

	ref := "kfp-authcheck.local/kfp-authcheck:v0.0.0-test"
	out := filepath.Join(dir, "image.tar")
	if err := WriteTarball(out, ref, a); err != nil {
		t.Fatal(err)
	}
	if got, err := RefOf(out); err != nil || got != ref {
		t.Errorf("RefOf: %q, %v; want %q", got, err, ref)
	}
	if _, err := RefOf(bin); err == nil {
		t.Error("RefOf of a file that is no image tarball: no error")
	}
	tag, _ := name.NewTag(ref)
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatalf("the tarball does not load: %v", err)
	}
	// docker load keeps the image ID (the config's digest), not the registry manifest's: that is what a run pins.
	idA, _ := a.ConfigName()
	if id, _ := img.ConfigName(); id != idA {
		t.Errorf("image ID after the round trip %s, want %s", id, idA)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != BinaryPath ||
		len(cf.Config.Cmd) != 1 || cf.Config.Cmd[0] != "probe" || cf.Config.User != nonRoot {
		t.Errorf("config: %s/%s entrypoint %v cmd %v user %q", cf.OS, cf.Architecture, cf.Config.Entrypoint, cf.Config.Cmd, cf.Config.User)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	h, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(tr)
	if h.Name != "kfp-authcheck" || h.Mode&0o111 == 0 || !bytes.Equal(got, payload) {
		t.Errorf("layer entry %q mode %o, content ok %v", h.Name, h.Mode, bytes.Equal(got, payload))
	}
	if _, err := Build(filepath.Join(dir, "absent"), "x"); err == nil {
		t.Error("a missing binary built an image")
	}
}

// TestBuildProgram: another program's image (the kind tier's Dex) has that binary at its path as the entrypoint,
// its default arguments and labels, run as the nonroot user; a relative path is refused.
func TestBuildProgram(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "dex")
	if err := os.WriteFile(bin, []byte("\x7fELF stand-in"), 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := BuildProgram(Program{Binary: bin, Path: "/usr/local/bin/dex", Title: "dex", Version: "v2.41.1",
		Source: "https://github.com/dexidp/dex", Cmd: []string{"serve", "/etc/dex/cfg/config.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.Entrypoint[0] != "/usr/local/bin/dex" || strings.Join(cf.Config.Cmd, " ") != "serve /etc/dex/cfg/config.yaml" ||
		cf.Config.User != nonRoot || cf.Config.Labels["org.opencontainers.image.title"] != "dex" {
		t.Errorf("config: %+v", cf.Config)
	}
	layers, _ := img.Layers()
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h, err := tar.NewReader(rc).Next()
	if err != nil || h.Name != "usr/local/bin/dex" || h.Mode != 0o755 {
		t.Errorf("layer entry %+v, %v", h, err)
	}
	if _, err := BuildProgram(Program{Binary: bin, Path: "dex"}); err == nil {
		t.Error("a relative path: no error")
	}
	if got := Ref("dex", "v0.0.0-2024+incompatible"); got != "kfp-authcheck.local/dex:v0.0.0-2024_incompatible" {
		t.Errorf("Ref: %s", got)
	}
}

// TestProgramOnABase puts a binary on a root filesystem tarball: the base is the first layer, the binary the
// second, the image runs as the user asked with Debian's PATH; a base that is not a tar file is refused.
func TestProgramOnABase(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "kube-proxy")
	if err := os.WriteFile(bin, []byte("\x7fELF kube-proxy"), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("iptables stand-in")
	if err := tw.WriteHeader(&tar.Header{Name: "usr/sbin/iptables", Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(body)
	tw.Close()
	base := filepath.Join(dir, "base.tar")
	if err := os.WriteFile(base, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	prog := Program{Binary: bin, Path: "/usr/local/bin/kube-proxy", Title: "kube-proxy", Version: "v1.34.4", Base: base, User: "0:0"}
	img, err := BuildProgram(prog)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 2 {
		t.Fatalf("layers: %d, %v; want the base and the binary", len(layers), err)
	}
	names := func(i int) []string {
		rc, err := layers[i].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		var out []string
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, h.Name)
		}
	}
	if got := names(0); len(got) != 1 || got[0] != "usr/sbin/iptables" {
		t.Errorf("first layer %v, want the base's usr/sbin/iptables", got)
	}
	if got := names(1); len(got) != 1 || got[0] != "usr/local/bin/kube-proxy" {
		t.Errorf("second layer %v, want the binary", got)
	}
	cf, _ := img.ConfigFile()
	if cf.Config.User != "0:0" || len(cf.Config.Env) != 1 || cf.Config.Env[0] != "PATH="+DefaultPath {
		t.Errorf("config user %q env %v", cf.Config.User, cf.Config.Env)
	}
	prog.Base = bin
	if _, err := BuildProgram(prog); err == nil || !strings.Contains(err.Error(), "not an uncompressed tar") {
		t.Errorf("a base that is no tar file: %v", err)
	}
	prog.Base = filepath.Join(dir, "missing.tar")
	if _, err := BuildProgram(prog); err == nil {
		t.Error("a missing base: no error")
	}
}
