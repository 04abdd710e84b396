//go:build tools

// Package tools pins oauth2-proxy v7.7.1, the version a built-in profile names; `make tools` builds it from here.
package tools

import _ "github.com/oauth2-proxy/oauth2-proxy/v7"
