// Package redact keeps secrets out of everything the harness prints or stores: evidence, messages, logs.
//
// A Redactor knows two kinds of secret. Known values (passwords, cookie values, tokens) are added with New or
// Add and replaced wherever they occur. Well-known shapes are replaced without being known: JWTs,
// "Bearer <x>" credentials, and the values of secret-bearing keys in query strings, form bodies
// and JSON (code, code_verifier, password, id_token, access_token, refresh_token, client_secret).
// The OAuth state parameter is not a secret and is kept, so evidence still shows the flow.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/url"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Mask is what every secret is replaced with.
const Mask = "[REDACTED]"

// ShortSecretLen is the length below which a known secret is only replaced where it stands as a whole token.
// Short passwords such as "admin" are real (deployKF's default admin password is "admin"), but replacing every
// substring "admin" would shred ordinary words and the e-mail address admin@example.com. A whole token is a
// run of the characters letters, digits and "_-.@+%~" bounded by anything else or by the ends of the text, so
// "password=admin&" and `"admin"` are redacted while "admin@example.com" and "administrator" are not.
const ShortSecretLen = 6

// Redactor replaces secrets in text, URLs and headers. It is safe for concurrent use. The zero value and a nil
// *Redactor are usable: they know no values and redact by pattern only.
type Redactor struct {
	mu sync.RWMutex
	// long holds secrets of at least ShortSecretLen characters, with their URL-encoded forms, longest first so a
	// secret that contains another is replaced whole.
	long []string
	// short holds secrets below ShortSecretLen, matched as whole tokens only.
	short []string
	seen  map[string]bool
}

// New returns a Redactor that knows the given secrets. Empty strings are ignored.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add registers more secrets. Any non-empty value counts; values shorter than ShortSecretLen are matched as
// whole tokens only (see ShortSecretLen). The URL-encoded forms of each secret are registered too, because a
// password or cookie value often reappears inside a query string or form body.
func (r *Redactor) Add(secrets ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	changed := false
	for _, s := range secrets {
		for _, form := range encodedForms(s) {
			if form == "" || r.seen[form] {
				continue
			}
			r.seen[form] = true
			changed = true
			if len(form) < ShortSecretLen {
				r.short = append(r.short, form)
			} else {
				r.long = append(r.long, form)
			}
		}
	}
	if changed {
		byLengthDesc := func(list []string) {
			sort.SliceStable(list, func(i, j int) bool { return len(list[i]) > len(list[j]) })
		}
		byLengthDesc(r.long)
		byLengthDesc(r.short)
	}
}

// encodedForms is s as written and as a server may echo it back: query-escaped, path-escaped, as the inside of a
// JSON string (with and without Go's HTML-safe escaping of <, > and &), and HTML-entity escaped (the named,
// decimal and hex spellings of quotes), without duplicates.
func encodedForms(s string) []string {
	var forms []string
	seen := map[string]bool{}
	add := func(f string) {
		if f != "" && !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	add(s)
	add(url.QueryEscape(s))
	add(url.PathEscape(s))
	add(jsonString(s, false))
	add(jsonString(s, true))
	add(html.EscapeString(s))
	add(strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;").Replace(s))
	add(strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s))
	return forms
}

// jsonString is s escaped as the inside of a JSON string.
func jsonString(s string, htmlSafe bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(htmlSafe)
	if err := enc.Encode(s); err != nil {
		return ""
	}
	out := strings.TrimSuffix(b.String(), "\n")
	return strings.TrimSuffix(strings.TrimPrefix(out, `"`), `"`)
}

// AddBasic registers the HTTP Basic credentials of user and password: base64 of "user:password" (standard and
// URL-safe alphabets, padded and not) is how a server or proxy may echo them, and no substring of the password
// shows in it. The password itself is added too.
func (r *Redactor) AddBasic(user, password string) {
	if password == "" {
		return
	}
	pair := []byte(user + ":" + password)
	r.Add(password,
		base64.StdEncoding.EncodeToString(pair), base64.RawStdEncoding.EncodeToString(pair),
		base64.URLEncoding.EncodeToString(pair), base64.RawURLEncoding.EncodeToString(pair))
}

// Cut redacts s, then keeps at most n bytes of it (on a character boundary) followed by "..." when it was longer.
// Redacting first matters: a secret cut in half is no longer recognisable, and its first half still leaks.
func (r *Redactor) Cut(s string, n int) string {
	s = r.String(s)
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// String returns s with every known secret and every secret-shaped value replaced by Mask.
func (r *Redactor) String(s string) string {
	if s == "" {
		return s
	}
	s = r.replaceKnown(s)
	return redactPatterns(s)
}

// replaceKnown replaces the registered secret values.
func (r *Redactor) replaceKnown(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, secret := range r.long {
		if strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, Mask)
		}
	}
	for _, secret := range r.short {
		s = replaceWholeTokens(s, secret)
	}
	return s
}

// replaceWholeTokens replaces the occurrences of secret in s that are not part of a longer token.
func replaceWholeTokens(s, secret string) string {
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, secret)
		if i < 0 {
			break
		}
		end := i + len(secret)
		before := byte(' ')
		if i > 0 {
			before = rest[i-1]
		}
		after := byte(' ')
		if end < len(rest) {
			after = rest[end]
		}
		b.WriteString(rest[:i])
		if isTokenByte(before) || isTokenByte(after) {
			b.WriteString(secret)
		} else {
			b.WriteString(Mask)
		}
		rest = rest[end:]
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(rest)
	return b.String()
}

// isTokenByte reports whether c can be part of a token in the sense of ShortSecretLen.
func isTokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case c >= 0x80: // part of a multi-byte UTF-8 letter
		return true
	}
	return strings.IndexByte("_-.@+%~", c) >= 0
}
