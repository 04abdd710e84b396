// Package image builds the harness's container image without a Docker daemon: the static kfp-authcheck binary
// as the only layer of an empty base, as ko would, with go-containerregistry. The probe Job runs it; the image is
// written as a tarball that `docker load` and kind's image loading read, and identified by its digest.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
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

// Build makes the image from a static linux/amd64 binary. Every timestamp is zero, so the same binary always
// gives the same digest.
func Build(binary, version string) (v1.Image, error) {
	data, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("image: read the binary: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: BinaryPath[1:], Mode: 0o755, Size: int64(len(data)),
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
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
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
	cf.Config.Entrypoint = []string{BinaryPath}
	cf.Config.Cmd = []string{"probe"}
	cf.Config.User = nonRoot
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":   "kfp-authcheck",
		"org.opencontainers.image.version": version,
		"org.opencontainers.image.source":  "https://github.com/kfp-authcheck/kfp-authcheck",
	}
	return mutate.ConfigFile(img, cf)
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
