// kfp-authcheck-image builds a container image from a static linux binary, without a Docker daemon, and writes
// it as a tarball that `docker load` and kind read: the harness's own (the probe and the kind tier's stand-ins),
// or with -program dex or oauth2-proxy the kind tier's image of that pinned program (its static build,
// tools/build.sh with STATIC=1). It prints the reference and the image ID that a run pins. `make image` builds
// the binaries and calls it.
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
	program := flag.String("program", "kfp-authcheck", "which program the binary is: kfp-authcheck, dex or oauth2-proxy")
	flag.Parse()
	prog, ok := programs[*program]
	if !ok {
		fmt.Fprintf(os.Stderr, "kfp-authcheck-image: -program %q: want kfp-authcheck, dex or oauth2-proxy\n", *program)
		os.Exit(2)
	}
	prog.Binary, prog.Version = *binary, *version
	img, err := image.BuildProgram(prog)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfp-authcheck-image:", err)
		os.Exit(1)
	}
	ref := image.Ref(prog.Title, *version)
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

// programs are the images this builds, by -program.
var programs = map[string]image.Program{
	"kfp-authcheck": {Path: image.BinaryPath, Title: "kfp-authcheck", Source: "https://github.com/kfp-authcheck/kfp-authcheck", Cmd: []string{"probe"}},
	"dex":           {Path: "/usr/local/bin/dex", Title: "dex", Source: "https://github.com/dexidp/dex", Cmd: []string{"serve", "/etc/dex/cfg/config.yaml"}},
	"oauth2-proxy":  {Path: "/bin/oauth2-proxy", Title: "oauth2-proxy", Source: "https://github.com/oauth2-proxy/oauth2-proxy", Cmd: []string{"--config", "/etc/oauth2-proxy/oauth2_proxy.cfg"}},
}
