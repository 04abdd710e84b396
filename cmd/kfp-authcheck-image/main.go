// kfp-authcheck-image builds a container image from a static linux binary, without a Docker daemon, and writes
// it as a tarball that `docker load` and kind read: the harness's own (the probe and the kind tier's stand-ins),
// or with -program dex or oauth2-proxy the kind tier's image of that pinned program (its static build,
// tools/build.sh with STATIC=1). With -program kube-apiserver, kube-controller-manager, kube-scheduler,
// kube-proxy, etcd, coredns or pause it builds the images kubeadm runs, for the kind node image made without a
// registry (tools/kind-node/build.sh): -ref names them as kubeadm asks, and -base puts a binary that needs a C
// library or iptables on a root filesystem tarball. It prints the reference and the image ID that a run pins.
// `make image` and `make kind-node-image` build the binaries and call it.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/kfp-authcheck/kfp-authcheck/internal/image"
)

func main() {
	binary := flag.String("binary", "bin/linux-amd64/kfp-authcheck", "the static linux/amd64 kfp-authcheck binary (CGO_ENABLED=0)")
	out := flag.String("out", "bin/kfp-authcheck-image.tar", "the image tarball to write")
	version := flag.String("version", "dev", "the version: the image's tag and label")
	program := flag.String("program", "kfp-authcheck", "which program the binary is: "+strings.Join(programNames(), ", "))
	base := flag.String("base", "", "a root filesystem as an uncompressed tar file to put the binary on (default: an empty base)")
	refFlag := flag.String("ref", "", "the image's reference (default kfp-authcheck.local/<program>:<version>)")
	flag.Parse()
	prog, ok := programs[*program]
	if !ok {
		fmt.Fprintf(os.Stderr, "kfp-authcheck-image: -program %q: want one of %s\n", *program, strings.Join(programNames(), ", "))
		os.Exit(2)
	}
	prog.Binary, prog.Version, prog.Base = *binary, *version, *base
	ref := image.Ref(prog.Title, *version)
	if *refFlag != "" {
		if _, err := name.NewTag(*refFlag, name.StrictValidation); err != nil {
			fmt.Fprintf(os.Stderr, "kfp-authcheck-image: -ref %q: %v\n", *refFlag, err)
			os.Exit(2)
		}
		ref = *refFlag
	}
	img, err := image.BuildProgram(prog)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfp-authcheck-image:", err)
		os.Exit(1)
	}
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
	// What kubeadm runs, where its manifests look for it: the control plane's static pods and kube-proxy name
	// their command (kube-proxy by its full path), CoreDNS and pause run their image's entrypoint. They run as
	// root, as kubeadm's upstream images do; pause as its upstream 65535.
	"kube-apiserver":          kube("kube-apiserver"),
	"kube-controller-manager": kube("kube-controller-manager"),
	"kube-scheduler":          kube("kube-scheduler"),
	"kube-proxy":              kube("kube-proxy"),
	"etcd":                    {Path: "/usr/local/bin/etcd", Title: "etcd", Source: "https://github.com/etcd-io/etcd", User: "0:0"},
	"coredns":                 {Path: "/coredns", Title: "coredns", Source: "https://github.com/coredns/coredns", User: "0:0"},
	"pause":                   {Path: "/pause", Title: "pause", Source: "https://github.com/kfp-authcheck/kfp-authcheck", User: "65535:65535"},
}

func kube(name string) image.Program {
	return image.Program{Path: "/usr/local/bin/" + name, Title: name, Source: "https://github.com/kubernetes/kubernetes", User: "0:0"}
}

func programNames() []string {
	names := make([]string, 0, len(programs))
	for n := range programs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
