package dex

import (
	"crypto/sha256"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// verified remembers the (hash, password) pairs bcrypt has accepted in this process, keyed by a SHA-256 of both
// (no plaintext is kept). A bcrypt comparison at Dex's minimum cost takes 50 to 70 ms of CPU, and the matrix logs
// the same users in dozens of times: without this, bcrypt was 61% of the CPU of `make run` (pprof, 7.2 s). Only
// acceptances are remembered, so a wrong password still costs a full comparison, and what the mock answers is
// unchanged: only how long a repeated successful login takes.
var verified sync.Map

// passwordMatches is bcrypt.CompareHashAndPassword == nil, with verified acceptances remembered.
func passwordMatches(hash []byte, password string) bool {
	h := sha256.New()
	h.Write(hash)
	h.Write([]byte{0})
	h.Write([]byte(password))
	var key [sha256.Size]byte
	h.Sum(key[:0])
	if _, ok := verified.Load(key); ok {
		return true
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil {
		return false
	}
	verified.Store(key, struct{}{})
	return true
}
