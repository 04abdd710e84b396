package checks

import (
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
)

// A body that echoes a secret near the cut is redacted before it is cut: no part of the secret survives.
func TestFirstLineRedactsBeforeCutting(t *testing.T) {
	secret := "s3cr3t-password-that-is-long-enough"
	body := strings.Repeat("x", 70) + secret + "\nsecond line"
	got := firstLine(redact.New(secret), body)
	if strings.Contains(got, "s3cr3t") || strings.Contains(got, "second") {
		t.Fatalf("firstLine leaked part of the secret or the next line: %q", got)
	}
	jwt := "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJodHRwczovL2lzc3VlciIsInN1YiI6InUifQ.c2lnbmF0dXJlc2lnbmF0dXJl"
	if got := firstLine(nil, "Bearer "+jwt+" was refused"); strings.Contains(got, "eyJhbGci") {
		t.Fatalf("firstLine kept a JWT's header: %q", got)
	}
}
