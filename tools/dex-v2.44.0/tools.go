//go:build tools

// Package tools pins Dex v2.44.0, the version a built-in profile names; `make tools` builds it from here.
//
// As for v2.39.1 (tools/dex-v2.39.1): Dex's in-tree API module is replaced in its own go.mod only, and v2.3.0,
// what `go mod tidy` picks, lacks ListClients, so go.mod requires github.com/dexidp/dex/api/v2 v2.4.0.
package tools

import _ "github.com/dexidp/dex/cmd/dex"
