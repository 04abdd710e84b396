package redact

import (
	"net/http"
	"strings"
)

// Header returns a header value fit for evidence:
//   - Cookie: every name kept, every value masked ("a=[REDACTED]; b=[REDACTED]");
//   - Set-Cookie: the name and the attributes kept (Path, Secure, HttpOnly, SameSite are evidence), the value
//     masked; an empty value (a cookie being cleared) stays empty;
//   - Authorization and Proxy-Authorization: the scheme kept, the credential masked;
//   - headers whose name says token, secret, password or api-key: masked whole;
//   - anything else: String.
func (r *Redactor) Header(name, value string) string {
	switch http.CanonicalHeaderKey(name) {
	case "Cookie":
		return redactCookiePairs(value)
	case "Set-Cookie":
		return redactSetCookie(value)
	case "Authorization", "Proxy-Authorization":
		return redactCredential(value)
	}
	lower := strings.ToLower(name)
	for _, word := range []string{"token", "secret", "password", "api-key", "apikey"} {
		if strings.Contains(lower, word) && value != "" {
			return Mask
		}
	}
	return r.String(value)
}

// redactCookiePairs masks the values of a Cookie request header.
func redactCookiePairs(value string) string {
	parts := strings.Split(value, ";")
	for i, part := range parts {
		name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
		parts[i] = name + "=" + Mask
	}
	return strings.Join(parts, "; ")
}

// redactSetCookie masks the value of a Set-Cookie response header and keeps its attributes.
func redactSetCookie(value string) string {
	first, attrs, hasAttrs := strings.Cut(value, ";")
	name, cookieValue, _ := strings.Cut(first, "=")
	name = strings.TrimSpace(name)
	cookieValue = strings.Trim(strings.TrimSpace(cookieValue), `"`)
	out := name + "="
	if cookieValue != "" {
		out += Mask
	}
	if hasAttrs {
		out += ";" + attrs
	}
	return out
}

// redactCredential keeps the scheme of an Authorization value and masks the credential.
func redactCredential(value string) string {
	value = strings.TrimSpace(value)
	if value == "" {
		return value
	}
	scheme, credential, found := strings.Cut(value, " ")
	if !found || strings.TrimSpace(credential) == "" {
		// A bare token (no scheme), as some clients send.
		return Mask
	}
	return scheme + " " + Mask
}
