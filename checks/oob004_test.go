package checks

import (
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// TestOOB004UnknownGatewayClientIsNotAllowed: when Dex answers 404 (Invalid client_id) for the client the profile
// names as the gateway's, OOB-004 must not report that client as allowed the OOB redirect: it warns that the
// gateway's client could not be tried.
func TestOOB004UnknownGatewayClientIsNotAllowed(t *testing.T) {
	env := brokenStack(t, "deploykf", func(*profile.Profile) {})
	if r := runCheck(t, env, "OOB-004"); r.Status != result.Pass {
		t.Fatalf("OOB-004 on deploykf: %s %s (%s), want pass", r.Status, r.Reason, r.Message)
	}
	wrong, _ := profile.Get("deploykf")
	wrong.Gateway.ClientID = "no-such-client"
	env.Target.Profile = wrong
	r := runCheck(t, env, "OOB-004")
	if r.Status != result.Warn || r.Reason != result.ConfigError {
		t.Fatalf("OOB-004 with an unknown gateway client: %s %s (%s), want warn %s", r.Status, r.Reason, r.Message, result.ConfigError)
	}
}

// TestOOB004WithoutAGatewayClientWarns: without a profile naming the gateway's client there is none to try; the
// check says so rather than passing on the implicit-flow half alone.
func TestOOB004WithoutAGatewayClientWarns(t *testing.T) {
	env := brokenStack(t, "deploykf", func(*profile.Profile) {})
	env.Target.Profile = nil
	r := runCheck(t, env, "OOB-004")
	if r.Status != result.Warn || r.Reason != result.MissingCapability {
		t.Fatalf("OOB-004 without a profile: %s %s (%s), want warn %s", r.Status, r.Reason, r.Message, result.MissingCapability)
	}
}
