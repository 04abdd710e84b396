package checks

import (
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// TestM2MEvidenceRedactsBeforeCutting: a 401 body that echoes the bearer keeps no piece of it in M2M-005's
// 80-character evidence line (cut first, the JWT's header segment showed).
func TestM2MEvidenceRedactsBeforeCutting(t *testing.T) {
	const tok = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImZvcmdlZCJ9.eyJpc3MiOiJodHRwczovL2t1YmVybmV0ZXMuZGVmYXVsdC5zdmMifQ.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
	env := NewEnv(&target.Target{Redactor: redact.New(tok)})
	body := "Jwt verification fails for token " + tok + "\nmore"
	got := redactedLine(env, body)
	if strings.Contains(got, "eyJ") {
		t.Fatalf("the evidence keeps part of the token: %q", got)
	}
	if !strings.Contains(got, redact.Mask) {
		t.Fatalf("the evidence %q does not show where the token was", got)
	}
}
