package redact

import (
	"net/url"
	"strings"
)

// URL returns u with the values of secret query and fragment keys (SecretKeys) replaced by Mask, a password in
// the userinfo masked, and known secrets removed elsewhere. Relative URLs (a Location header) are handled too.
// The original encoding and order of the other parameters are kept, so evidence matches the wire.
func (r *Redactor) URL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return r.String(u)
	}
	if parsed.User != nil {
		if _, hasPassword := parsed.User.Password(); hasPassword {
			parsed.User = url.UserPassword(parsed.User.Username(), Mask)
		}
	}
	parsed.RawQuery = redactPairs(parsed.RawQuery)
	if parsed.Fragment != "" {
		// The implicit flow returns tokens in the fragment.
		parsed.RawFragment = redactPairs(parsed.EscapedFragment())
		parsed.Fragment, _ = url.PathUnescape(parsed.RawFragment)
	}
	return r.String(parsed.String())
}

// redactPairs masks the values of secret keys in an encoded "k=v&k2=v2" string, leaving the rest untouched.
func redactPairs(raw string) string {
	if raw == "" {
		return raw
	}
	pairs := strings.Split(raw, "&")
	for i, pair := range pairs {
		key, value, found := strings.Cut(pair, "=")
		if !found || value == "" {
			continue
		}
		if name, err := url.QueryUnescape(key); err == nil && isSecretKey(name) {
			pairs[i] = key + "=" + Mask
		}
	}
	return strings.Join(pairs, "&")
}
