//go:build tools

// Package tools pins the real kube-apiserver and kube-controller-manager that the local tier runs, both from
// the same k8s.io/kubernetes module; `make tools` builds them from here in one `go build`.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
