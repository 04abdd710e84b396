//go:build tools

// Package tools pins CoreDNS at the version kubeadm v1.34 deploys (its CoreDNSVersion), for the kind tier's node
// image built without a registry (tools/kind-node/build.sh): a static build on an empty base.
package tools

import _ "github.com/coredns/coredns"
