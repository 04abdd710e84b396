// kfp-authcheck-image builds the harness's container image (the probe's) from a static linux binary, without a
// Docker daemon, and writes it as a tarball that `docker load` and kind read. It prints the reference and the
// image ID that a run pins. `make image` builds the binary and calls it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kfp-authcheck/kfp-authcheck/internal/image"
)

func main() {
	binary := flag.String("binary", "bin/linux-amd64/kfp-authcheck", "the static linux/amd64 kfp-authcheck binary (CGO_ENABLED=0)")
	out := flag.String("out", "bin/kfp-authcheck-image.tar", "the image tarball to write")
	version := flag.String("version", "dev", "the version: the image's tag and label")
	flag.Parse()
	img, err := image.Build(*binary, *version)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfp-authcheck-image:", err)
		os.Exit(1)
	}
	ref := "kfp-authcheck.local/kfp-authcheck:" + *version
	if err := image.WriteTarball(*out, ref, img); err != nil {
		fmt.Fprintln(os.Stderr, "kfp-authcheck-image:", err)
		os.Exit(1)
	}
	// The image ID (the config's digest) is what docker load and kind's loading keep; a run pins that.
	id, err := img.ConfigName()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfp-authcheck-image:", err)
		os.Exit(1)
	}
	fmt.Printf("image %s\nimage ID %s\ntarball %s\n", ref, id, *out)
}
