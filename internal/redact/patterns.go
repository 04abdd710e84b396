package redact

import (
	"regexp"
	"strings"
)

// SecretKeys are the query, form and JSON keys whose values are always secret. "state" is deliberately absent:
// it is an opaque CSRF value, and keeping it lets a reader follow the flow in the evidence.
var SecretKeys = []string{"code", "code_verifier", "password", "id_token", "access_token", "refresh_token", "client_secret"}

// isSecretKey reports whether a query, form or JSON key carries a secret value.
func isSecretKey(key string) bool {
	for _, k := range SecretKeys {
		if strings.EqualFold(key, k) {
			return true
		}
	}
	return false
}

var (
	// jwtPattern matches compact JWS/JWT: a base64url JSON header and payload (both start with eyJ, i.e. `{"`),
	// then a signature that may be empty (alg none).
	jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
	// bearerPattern matches a bearer credential after its scheme, wherever it appears in text.
	bearerPattern  = regexp.MustCompile(`(?i)\b(Bearer)(\s+)([A-Za-z0-9._~+/=-]+)`)
	keyAlternation = strings.Join(SecretKeys, "|")
	// pairPattern matches key=value in query strings, form bodies and log-style text. The key must start the text
	// or follow a separator, so error_code= or status_code= are left alone.
	pairPattern = regexp.MustCompile(`(?i)(^|[?&;#\s"',{(])(` + keyAlternation + `)=([^&\s"',;#)}]*)`)
	// jsonPattern matches "key": "value" for the secret keys, as in a token endpoint response.
	jsonPattern = regexp.MustCompile(`(?i)("(?:` + keyAlternation + `)"\s*:\s*")((?:[^"\\]|\\.)*)(")`)
)

// redactPatterns replaces secret-shaped values that need not be known in advance.
func redactPatterns(s string) string {
	s = jwtPattern.ReplaceAllString(s, Mask)
	s = bearerPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := bearerPattern.FindStringSubmatch(m)
		if !looksLikeCredential(sub[3]) {
			return m
		}
		return sub[1] + sub[2] + Mask
	})
	s = pairPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := pairPattern.FindStringSubmatch(m)
		if sub[3] == "" || sub[3] == Mask {
			return m
		}
		return sub[1] + sub[2] + "=" + Mask
	})
	s = jsonPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := jsonPattern.FindStringSubmatch(m)
		if sub[2] == "" {
			return m
		}
		return sub[1] + Mask + sub[3]
	})
	return s
}

// looksLikeCredential tells a token after "Bearer" from an ordinary word ("Bearer token expired"): real
// credentials are at least 8 characters and contain a digit or punctuation.
func looksLikeCredential(s string) bool {
	return len(s) >= 8 && strings.IndexFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
	}) >= 0
}
