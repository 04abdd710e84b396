//go:build tools

// Package tools pins the real dex that the local tier runs; `make tools` builds it from here.
package tools

import _ "github.com/dexidp/dex/cmd/dex"
