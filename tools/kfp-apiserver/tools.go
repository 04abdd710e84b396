//go:build tools

// Package tools pins the real KFP API server that the local tier runs (the KFP master of 2023-12-08, the 2.0.5
// era); `make tools` builds it from here.
package tools

import _ "github.com/kubeflow/pipelines/backend/src/apiserver"
