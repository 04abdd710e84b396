// Package image builds the harness's container images without a Docker daemon: one static binary as the only
// layer of an empty base, as ko would, with go-containerregistry. The probe Job and the kind tier's stand-ins run
// the kfp-authcheck image; the kind tier's Dex and oauth2-proxy run images built the same way from the static
// builds of the pinned programs (tools/build.sh with STATIC=1). A binary that needs more than the kernel (a
// cgo build that links glibc, kube-proxy that runs iptables) goes on a base: a root filesystem given as a tarball,
// the image's first layer (the kind node image's Kubernetes images, tools/kind-node). An image is written as a
// tarball that `docker load`, kind's image loading and `ctr images import` read, and identified by its digest.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BinaryPath is where the binary sits in the image.
const BinaryPath = "/kfp-authcheck"

// nonRoot is the distroless nonroot user: the probe needs no privilege.
const nonRoot = "65532:65532"

// Program is one binary to put in an image.
type Program struct {
	// Binary is the static linux/amd64 file; Path is where it sits in the image (the entrypoint).
	Binary, Path string
	// Title, Version and Source are the image's OCI labels.
	Title, Version, Source string
	// Cmd is the image's default arguments.
	Cmd []string
	// Base, when set, is a root filesystem as an uncompressed tar file: the image's first layer, below the
	// binary's. The image then also gets the usual PATH, so a pod that names its command without a path (as
	// kubeadm's static pods do) finds it.
	Base string
	// User runs the entrypoint ("uid:gid"); empty is the distroless nonroot user.
	User string
}

// DefaultPath is the PATH an image on a base gets: Debian's.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Build makes the kfp-authcheck image from its static linux/amd64 binary (the probe by default).
func Build(binary, version string) (v1.Image, error) {
	return BuildProgram(Program{Binary: binary, Path: BinaryPath, Title: "kfp-authcheck", Version: version,
		Source: "https://github.com/kfp-authcheck/kfp-authcheck", Cmd: []string{"probe"}})
}

// BuildProgram makes an image of one binary, run as the distroless nonroot user unless prog.User says otherwise,
// on an empty base or on prog.Base. Every timestamp is zero, so the same files always give the same digest.
func BuildProgram(prog Program) (v1.Image, error) {
	if !strings.HasPrefix(prog.Path, "/") || len(prog.Path) < 2 {
		return nil, fmt.Errorf("image: the binary's path %q must be absolute", prog.Path)
	}
	data, err := os.ReadFile(prog.Binary)
	if err != nil {
		return nil, fmt.Errorf("image: read the binary: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: prog.Path[1:], Mode: 0o755, Size: int64(len(data)),
		Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Uid: 0, Gid: 0, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("image: layer: %w", err)
	}
	layers := []v1.Layer{layer}
	if prog.Base != "" {
		if err := checkTar(prog.Base); err != nil {
			return nil, err
		}
		base, err := tarball.LayerFromFile(prog.Base, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, fmt.Errorf("image: base %s: %w", prog.Base, err)
		}
		layers = []v1.Layer{base, layer}
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config.Entrypoint = []string{prog.Path}
	cf.Config.Cmd = prog.Cmd
	cf.Config.User = nonRoot
	if prog.User != "" {
		cf.Config.User = prog.User
	}
	if prog.Base != "" {
		cf.Config.Env = []string{"PATH=" + DefaultPath}
	}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":   prog.Title,
		"org.opencontainers.image.version": prog.Version,
		"org.opencontainers.image.source":  prog.Source,
	}
	return mutate.ConfigFile(img, cf)
}

// checkTar says plainly when a base is not a tar file (a missing file, a directory, a compressed tarball).
func checkTar(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("image: base: %w", err)
	}
	defer f.Close()
	if _, err := tar.NewReader(f).Next(); err != nil {
		return fmt.Errorf("image: base %s is not an uncompressed tar file of a root filesystem: %v", path, err)
	}
	return nil
}

// Ref is the reference the project gives an image of title at version: kfp-authcheck.local/<title>:<version>,
// a registry nobody pulls from (the images are loaded into the nodes), a Go pseudo-version's "+" made "_".
func Ref(title, version string) string {
	return "kfp-authcheck.local/" + title + ":" + strings.ReplaceAll(version, "+", "_")
}

// WriteTarball writes img under ref ("kfp-authcheck:<version>") as a tarball that docker load and kind read.
func WriteTarball(path, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image: reference %q: %w", ref, err)
	}
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("image: write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// RefOf is the reference a tarball written by WriteTarball carries (its manifest.json's only tag), what a node
// that loaded it knows the image as.
func RefOf(path string) (string, error) {
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		return "", fmt.Errorf("image %s: %w", path, err)
	}
	if len(m) != 1 || len(m[0].RepoTags) != 1 {
		return "", fmt.Errorf("image %s: want one image with one tag, found %d image(s)", path, len(m))
	}
	return m[0].RepoTags[0], nil
}
