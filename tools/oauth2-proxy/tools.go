//go:build tools

// Package tools pins the real oauth2-proxy that the local tier runs; `make tools` builds it from here.
package tools

import _ "github.com/oauth2-proxy/oauth2-proxy/v7"
