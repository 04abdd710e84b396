//go:build tools

// Package tools pins the real etcd that the local tier runs; `make tools` builds it from here.
package tools

import _ "go.etcd.io/etcd/server/v3"
