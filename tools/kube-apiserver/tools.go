//go:build tools

// Package tools pins the Kubernetes programs the project runs, all from the one k8s.io/kubernetes module:
// kube-apiserver and kube-controller-manager for the local tier, and kube-scheduler, kube-proxy, kubelet, kubeadm
// and kubectl for the kind tier's node image (make kind-node-image). `make tools` builds the local tier's two and
// tools/kind-node/build.sh builds the whole set, each in one `go build`, so the packages they share compile once.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
