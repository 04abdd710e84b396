// Package mutate holds the deliberate bugs of the mutation suite (`make mutate`, docs/mutations.md): each is a
// named switch a stand-in consults at one place, off unless a test turns it on. One mutation is on at a time in
// the process; a check that must catch it then has to fail. The switches never change a stand-in's behaviour
// outside such a test.
package mutate

import (
	"fmt"
	"slices"
	"sync"
)

// Name is one mutation.
type Name string

// The mutations, each a bug a real component could have (docs/mutations.md names the check that kills it).
const (
	// KFPNoAudience: the KFP API sends its TokenReview without spec.audiences and skips ensureAudience.
	KFPNoAudience Name = "kfp-no-audience"
	// KFPAllowAll: the KFP API skips its SubjectAccessReview (every authenticated caller is allowed).
	KFPAllowAll Name = "kfp-allow-all"
	// KFPCacheAuthz: the KFP API caches an allowed SubjectAccessReview forever.
	KFPCacheAuthz Name = "kfp-cache-authz"
	// KFPRunWritesUnchecked: terminate, retry and archive of a run skip the authorization.
	KFPRunWritesUnchecked Name = "kfp-run-writes-unchecked"
	// KubeIgnoreVerbs: the Kubernetes stand-in's RBAC rule matching ignores verbs.
	KubeIgnoreVerbs Name = "kube-ignore-verbs"
	// KubeTokenNoExpiry: the Kubernetes stand-in's token authentication ignores exp.
	KubeTokenNoExpiry Name = "kube-token-no-expiry"
	// KubeTokenNoSignature: the Kubernetes stand-in's token authentication does not verify the signature.
	KubeTokenNoSignature Name = "kube-token-no-signature"
	// DexPKCENoVerifier: Dex redeems a PKCE code without checking code_verifier.
	DexPKCENoVerifier Name = "dex-pkce-no-verifier"
	// KFPNoV1beta1: the KFP API serves no v1beta1 (a v2-only build where the distribution serves both).
	KFPNoV1beta1 Name = "kfp-no-v1beta1"
	// DexAnyPassword: Dex's local connector accepts any password for a known user.
	DexAnyPassword Name = "dex-any-password"
	// LDAPAnyPassword: the directory accepts a simple bind with any password for a known entry.
	LDAPAnyPassword Name = "ldap-any-password"
	// OAuth2ProxyAnyRedirect: oauth2-proxy accepts any absolute rd, whatever whitelist_domains says.
	OAuth2ProxyAnyRedirect Name = "oauth2-proxy-any-redirect"
	// GatewayNoSignature: the Istio gateway's jwt_authn does not verify signatures.
	GatewayNoSignature Name = "gateway-no-signature"
	// KFPAnonymous: the KFP API lets a request with no identity through (no header, no token).
	KFPAnonymous Name = "kfp-anonymous"
	// KFPUIDropsAuthorization: ml-pipeline-ui's proxy to the API drops the Authorization header.
	KFPUIDropsAuthorization Name = "kfp-ui-drops-authorization"
	// OAuth2ProxyFirstChunkOnly: oauth2-proxy reads only the first part of a split session cookie.
	OAuth2ProxyFirstChunkOnly Name = "oauth2-proxy-first-chunk-only"
	// DexDiscoveryIssuerSlash: Dex's discovery document names the issuer with a trailing slash.
	DexDiscoveryIssuerSlash Name = "dex-discovery-issuer-slash"
	// DexApprovalRejected: Dex's approval form rejects the approval.
	DexApprovalRejected Name = "dex-approval-rejected"
	// OAuth2ProxyPassUserID: oauth2-proxy passes the client's own kubeflow-userid upstream.
	OAuth2ProxyPassUserID Name = "oauth2-proxy-pass-userid"
	// DexOnePendingAuthRequest: Dex keeps one pending auth request; a new one drops those not yet logged in.
	DexOnePendingAuthRequest Name = "dex-one-pending-auth-request"
	// OAuth2ProxyExpired500: oauth2-proxy answers an expired session with 500 instead of a new login.
	OAuth2ProxyExpired500 Name = "oauth2-proxy-expired-500"
	// OAuth2ProxySessionCookieNoPath: oauth2-proxy sets the session cookie (each part of a split one) without
	// cookie_path, so a browser scopes it to the callback's directory (/oauth2) and never sends it to /pipeline.
	OAuth2ProxySessionCookieNoPath Name = "oauth2-proxy-session-cookie-no-path"
)

// All lists every mutation.
var All = []Name{KFPNoAudience, KFPAllowAll, KFPCacheAuthz, KFPRunWritesUnchecked, KubeIgnoreVerbs,
	KubeTokenNoExpiry, KubeTokenNoSignature, DexPKCENoVerifier, OAuth2ProxyPassUserID, KFPNoV1beta1, DexAnyPassword,
	LDAPAnyPassword, OAuth2ProxyAnyRedirect, GatewayNoSignature, KFPAnonymous, KFPUIDropsAuthorization,
	OAuth2ProxyFirstChunkOnly, DexDiscoveryIssuerSlash, DexApprovalRejected, DexOnePendingAuthRequest, OAuth2ProxyExpired500,
	OAuth2ProxySessionCookieNoPath}

var (
	mu     sync.RWMutex
	active Name
)

// Enable turns n on until the returned function is called; another mutation already on is an error (one at a
// time), as is a name not in All.
func Enable(n Name) (func(), error) {
	if !slices.Contains(All, n) {
		return nil, fmt.Errorf("mutate: unknown mutation %q", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if active != "" {
		return nil, fmt.Errorf("mutate: %s is on; one mutation at a time", active)
	}
	active = n
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if active == n {
			active = ""
		}
	}, nil
}

// On reports whether n is on.
func On(n Name) bool {
	mu.RLock()
	defer mu.RUnlock()
	return active == n
}
