package dex

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// idEncoding is Dex's storage encoding: lower-case base32 so IDs are safe in URLs and Kubernetes names.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567")

// newID is storage.NewID: 16 random bytes, a leading letter, 25 characters.
func newID() string { return newSecureID(16) }

// newHMACKey is storage.NewHMACKey(crypto.SHA256).
func newHMACKey() []byte { return []byte(newSecureID(sha256.Size)) }

func newSecureID(n int) string {
	buf := make([]byte, n)
	// crypto/rand.Read never fails on supported platforms (Go 1.24+ crashes the program instead).
	_, _ = rand.Read(buf)
	return string(buf[0]%26+'a') + strings.TrimRight(idEncoding.EncodeToString(buf[1:]), "=")
}
