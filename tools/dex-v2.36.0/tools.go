//go:build tools

// Package tools pins Dex v2.36.0, the version a built-in profile names; `make tools` builds it from here.
package tools

import _ "github.com/dexidp/dex/cmd/dex"
