package redact

import (
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzRedactor: a known secret (of ShortSecretLen characters or more) never survives String, in any form a server
// may echo it in (raw, query- and path-escaped, JSON-escaped, HTML-escaped), whatever text surrounds it, nor do
// the Basic credentials it is part of; and Cut keeps no piece of it.
func FuzzRedactor(f *testing.F) {
	f.Add("12341234", "password is ", ".")
	f.Add(`Pa"ss\word`, `{"error":"`, `"}`)
	f.Add("s3cr3t value", "pw=", "&x=1")
	f.Add("<tag>&'\"", "<p>", "</p>")
	f.Add("ééééééé", "x", "y")
	f.Add("aaaaaa", "aaaaa", "a")
	f.Fuzz(func(t *testing.T, secret, prefix, suffix string) {
		if len(secret) < ShortSecretLen || strings.ContainsAny(secret, "[]") || strings.Contains(Mask, secret) {
			return // a secret made of the mask's own characters can straddle it; short ones are whole-token only
		}
		r := New()
		r.AddBasic("user@example.com", secret)
		for _, form := range encodedForms(secret) {
			out := r.String(prefix + form + suffix)
			if strings.Contains(out, secret) || strings.Contains(out, form) {
				t.Fatalf("secret %q survives in form %q: %q", secret, form, out)
			}
			if cut := r.Cut(prefix+form+suffix, len(prefix)+len(form)/2); strings.Contains(cut, form[:len(form)/2]) &&
				!strings.Contains(prefix, form[:len(form)/2]) && len(form)/2 >= ShortSecretLen {
				t.Fatalf("Cut keeps half of %q: %q", form, cut)
			}
		}
		basic := base64.StdEncoding.EncodeToString([]byte("user@example.com:" + secret))
		if out := r.String("Authorization: Basic " + basic); strings.Contains(out, basic) {
			t.Fatalf("Basic credentials survive: %q", out)
		}
	})
}
