package checks

import (
	"slices"

	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// gatewayBorne are the capabilities only a gateway brings (its logins, its cookie, its OOB client, its TLS): on
// a description without a gateway a check missing one of them is n/a for that reason, not for the profile's.
var gatewayBorne = []target.Capability{target.CapGateway, target.CapDex, target.CapDexLocal, target.CapDexLDAP,
	target.CapCookieSession, target.CapOOBClient, target.CapHTTPS}

// missesGateway reports whether the missing capabilities come from the description having no gateway.
func missesGateway(t *target.Target, missing []target.Capability) bool {
	if !t.NoGateway() {
		return false
	}
	for _, c := range missing {
		if slices.Contains(gatewayBorne, c) {
			return true
		}
	}
	return false
}

// hasGateway is the Applies of the checks that ask the gateway without needing a capability of it (SETUP-001
// classifies whatever answers): a description without a gateway has nothing for them to ask.
func hasGateway(t *target.Target) *Inapplicable {
	if t.NoGateway() {
		return &Inapplicable{Reason: result.MissingCapability, Message: target.NoGatewayReason}
	}
	return nil
}
