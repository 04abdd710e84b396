//go:build tools

// Package tools pins the real kube-apiserver that the local tier runs; `make tools` builds it from here.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
