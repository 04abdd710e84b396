// Package dex is an in-process stand-in for Dex v2.41.1 that behaves like it on the wire: discovery, JWKS,
// the authorization flow (connector selection, password login, approval, out-of-band page), the token endpoint
// with PKCE, userinfo, and the gRPC admin API. Handlers follow server/handlers.go and server/oauth2.go of
// github.com/dexidp/dex@v0.0.0-20240807174518-43956db7fd75, and the pages are Dex's own templates.
//
// Not modelled: refresh tokens (the refresh_token grant answers as Dex does for an unknown token), the device
// flow pages, token introspection, upstream callback and SAML connectors, key rotation. Garbage collection of
// expired auth requests and codes runs lazily on Dex's 5-minute period (gc.go).
package dex
