//go:build tools

// Package tools pins Dex v2.39.1, the version a built-in profile names; `make tools` builds it from here.
//
// Dex's own go.mod replaces its API module (github.com/dexidp/dex/api/v2) with the copy in its tree, which a
// dependent module cannot do, and the Go module proxy serves no version of that module at this commit: v2.1.0,
// what `go mod tidy` picks on its own, lacks GetClient, so go.mod requires v2.2.0 (the one Dex v2.41.1 builds with),
// whose server interface v2.39.1's server implements.
package tools

import _ "github.com/dexidp/dex/cmd/dex"
