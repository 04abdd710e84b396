// Package misconfig is the one table of deliberately broken targets and the verdict each must get: a stack is
// started from a broken copy of a server profile (Break) and/or changed through the target's own clients before
// the check runs (Before), while the checks compare with the original profile, as when a deployment drifts from
// its distribution's defaults.
//
// It is test support: the tiers' misconfiguration tests (checks/misconfig_test.go on the embedded tier,
// clusters/local/misconfig_test.go on the real programs) run the cases of their tier, and the catalogue's
// cross-check (checks/canfail_test.go) reads the same table to prove that every check has a case where a
// misconfiguration of the property it names makes it FAIL. There is no second list to keep.
package misconfig

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// Tier names where a case runs.
const (
	Embedded = "embedded"
	Local    = "local"
)

// Tiers are the tiers whose tests run the table.
var Tiers = []string{Embedded, Local}

// Outcome is the verdict a check must get on the broken target.
type Outcome struct {
	Status result.Status
	Reason result.Reason
	// Contains, where set, must occur in the result's message.
	Contains string
}

// Hook is what a Before function may use: the started target (its Kube client, its addresses, its users) and the
// stand-ins the runner offers for changes no client can make.
type Hook struct {
	Target *target.Target
	// Cleanup registers a function to run when the case ends.
	Cleanup func(func())
	// Stand is the runner's stand-in factory; nil where the tier offers none.
	Stand Stand
}

// Stand makes stand-in servers a case can point the target at (the runner owns them and closes them).
type Stand interface {
	// UIBelievingHeaders serves the in-cluster KFP UI without its AuthorizationPolicy: a forged kubeflow-userid
	// is believed. It returns the server's URL.
	UIBelievingHeaders(ctx context.Context, t *target.Target) (string, error)
}

// Case is one broken target and the verdicts it must get.
type Case struct {
	Name    string
	Profile string
	// Tiers the case runs on (Embedded, Local).
	Tiers []string
	// Base, where set, is the deployment the case starts from where it is not the built-in profile as shipped
	// (e.g. a release plus the PodDefault a site adds): it changes the profile for the stack and the description
	// alike, in the broken run and in the unbroken one the runners hold it to, before Break and Describe.
	Base func(p *profile.Profile)
	// Break changes the copy of the profile the stack starts from; nil starts the profile as it is.
	Break func(p *profile.Profile)
	// Describe changes the server profile the checks compare with (the description), where the case is a
	// deployment that lags behind what its distribution's release claims.
	Describe func(p *profile.Profile)
	// Before changes the started target (through its clients) after the stack is up and before the checks run.
	Before func(ctx context.Context, h Hook) error
	// After, where set, runs when the checks have run (and the run's fixtures are closed): what must still hold.
	After func(ctx context.Context, h Hook) error
	// Mutation, where set, names a deliberate bug the runner turns on in the stand-ins for the case (mocks/mutate;
	// the list and results are in docs/mutations.md). Such cases run on the embedded tier under `make mutate`;
	// those marked Smoke run in every test run too.
	Mutation string
	Smoke    bool
	// Kube says the case needs a Kubernetes API server (the local tier's kube-apiserver).
	Kube bool
	// GatewayCertHost, where set, has the https gateway serve a certificate of the stack's CA for this host name
	// only, not the address the gateway is reached at (the embedded tier's Options.GatewayCertHost).
	GatewayCertHost string
	// Want maps a check ID to the verdict it must get.
	Want map[string]Outcome
}

// On reports whether the case runs on tier.
func (c Case) On(tier string) bool { return slices.Contains(c.Tiers, tier) }

func fail(r result.Reason) Outcome { return Outcome{Status: result.Fail, Reason: r} }
func warn(r result.Reason) Outcome { return Outcome{Status: result.Warn, Reason: r} }

var both = []string{Embedded, Local}
var embeddedOnly = []string{Embedded}

// Cases is the table.
var Cases = []Case{
	{Name: "api routes dropped: the API answers with the sign-in page", Profile: "kubeflow", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) { p.Gateway.APIRoutes = nil; p.Gateway.DetectAJAX = false },
		Want:  map[string]Outcome{"SETUP-001": fail(result.GatewayConfig)}},
	// deployKF#96: without api_routes the UI's fetch() calls (Accept: */*) start a login each, and each 302 sets a
	// per-request CSRF cookie; kubeflow's sign-in page (skip_provider_button false) sets none.
	{Name: "api routes dropped on deployKF: each of the UI's calls sets a CSRF cookie (deployKF#96)", Profile: "deploykf", Tiers: both,
		Break: func(p *profile.Profile) { p.Gateway.APIRoutes = nil },
		Want:  map[string]Outcome{"OAUTH2P-001": fail(result.GatewayConfig)}},
	{Name: "api routes dropped on kubeflow: the UI's calls get the sign-in page", Profile: "kubeflow", Tiers: both,
		Break: func(p *profile.Profile) { p.Gateway.APIRoutes = nil },
		Want:  map[string]Outcome{"OAUTH2P-001": fail(result.GatewayConfig)}},
	// The server profile says oidc-authservice (whose lack of an API special case is a known limitation, a warn);
	// the gateway that answers is oauth2-proxy without api_routes: OAUTH2P-001 observes which gateway answered.
	{Name: "the profile says oidc-authservice, oauth2-proxy without api_routes answers", Profile: "kubeflow", Tiers: embeddedOnly,
		Describe: func(p *profile.Profile) { p.Gateway.Kind = "oidc-authservice" },
		Break:    func(p *profile.Profile) { p.Gateway.APIRoutes = nil },
		Want:     map[string]Outcome{"OAUTH2P-001": fail(result.GatewayConfig)}},
	{Name: "direct redirect where the profile expects the sign-in page", Profile: "kubeflow", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) { p.Gateway.SkipProviderButton = true },
		Want: map[string]Outcome{"DEX-LOCAL-001": fail(result.GatewayConfig),
			"DEX-LOCAL-002": {Status: result.Warn, Reason: result.GatewayConfig, Contains: "chain differs"}}},
	// The other way round: deployKF's gateway redirects straight to Dex (skip_provider_button); one that shows the
	// sign-in page still logs in, along another chain.
	{Name: "the sign-in page where deployKF redirects straight to Dex", Profile: "deploykf", Tiers: both,
		Break: func(p *profile.Profile) { p.Gateway.SkipProviderButton = false },
		Want: map[string]Outcome{"DEX-LOCAL-001": fail(result.GatewayConfig),
			"DEX-LOCAL-002": {Status: result.Warn, Reason: result.GatewayConfig, Contains: "chain differs"}}},
	{Name: "Dex shows the approval screen (skipApprovalScreen: false)", Profile: "kubeflow", Tiers: both,
		Break: func(p *profile.Profile) { p.Dex.SkipApprovalScreen = false },
		Want:  map[string]Outcome{"DEX-LOCAL-004": warn(result.ApprovalScreen), "DEX-LOCAL-002": warn(result.GatewayConfig)}},
	{Name: "a Secure session cookie over plain http", Profile: "kubeflow", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) { p.Gateway.CookieSecure = true },
		Want:  map[string]Outcome{"DEX-LOCAL-008": fail(result.CookieFlags)}},
	{Name: "the session cookie readable from scripts (cookie_httponly: false)", Profile: "kubeflow", Tiers: both,
		Break: func(p *profile.Profile) { p.Gateway.CookieHTTPOnly = false },
		Want:  map[string]Outcome{"OAUTH2P-007": fail(result.CookieFlags)}},
	// A cookie_path the callback is not under: the CSRF cookie never comes back, and the real oauth2-proxy's
	// callback answers 403 "Unable to find a valid CSRF token" (manifests#2664's symptom).
	{Name: "a cookie_path the callback is not under: the CSRF cookie does not come back", Profile: "kubeflow", Tiers: both,
		Break: func(p *profile.Profile) { p.Gateway.CookiePath = "/pipeline" },
		Want:  map[string]Outcome{"OAUTH2P-002": fail(result.CookieFlags)}},
	{Name: "whitelist_domains lets rd name another host: an open redirect", Profile: "kubeflow", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) { p.Gateway.WhitelistDomains = []string{".invalid"} },
		Want:  map[string]Outcome{"OAUTH2P-006": fail(result.OpenRedirect)}},
	{Name: "whitelist_domains lets rd name another host (deployKF)", Profile: "deploykf", Tiers: []string{Local},
		Break: func(p *profile.Profile) { p.Gateway.WhitelistDomains = []string{".invalid"} },
		Want:  map[string]Outcome{"OAUTH2P-006": fail(result.OpenRedirect)}},
	{Name: "the session cookie renamed", Profile: "kubeflow", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) { p.Gateway.CookieName = "_oauth2_proxy" },
		Want:  map[string]Outcome{"DEX-LOCAL-005": warn(result.GatewayConfig)}},
	{Name: "the user owns no namespace: the cookie cannot list experiments", Profile: "kubeflow", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) { p.KFP.Namespaces[0].Owner = "someone-else@example.com" },
		Want:  map[string]Outcome{"DEX-LOCAL-006": fail(result.K8sRBAC)}},
	// m2m-dex-only: the gateway has the Dex rule only, so ServiceAccount tokens meet "Jwt issuer is not configured".
	{Name: "the gateway lacks the Kubernetes issuers (m2m-dex-only)", Profile: "kubeflow-1.10-kind", Tiers: both, Kube: true,
		Break: func(p *profile.Profile) { p.Gateway.Mesh.JWTRules = p.Gateway.Mesh.JWTRules[:1] },
		Want:  map[string]Outcome{"M2M-002": fail(result.GatewayConfig), "M2M-001": fail(result.GatewayConfig)}},
	{Name: "a multi-user deployment without a gateway", Profile: "kubeflow", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) { p.MultiUser = false; p.Gateway = nil; p.Dex = nil; p.Users = nil },
		Want:  map[string]Outcome{"SETUP-001": fail(result.Unsecured), "ISO-007": fail(result.Unsecured)}},
	{Name: "oauth2-proxy without oidc_extra_audiences for the SDK client", Profile: "deploykf", Tiers: []string{Local},
		Break: func(p *profile.Profile) { p.Gateway.ExtraAudiences = nil; p.Gateway.ExtraAudiencesPaths = nil },
		Want:  map[string]Outcome{"OAUTH2P-003": fail(result.Audience), "OOB-005": fail(result.SessionNotAccepted)}},
	{Name: "a stale password in the target's users", Profile: "kubeflow", Tiers: embeddedOnly,
		Before: func(ctx context.Context, h Hook) error { h.Target.Users[0].Password += "-stale"; return nil },
		Want:   map[string]Outcome{"DEX-LOCAL-006": fail(result.InvalidCredentials)}},
	// KFP's multi-user view-edit-cluster-roles.yaml never applied: kubeflow-edit aggregates no KFP write rules, so a
	// RoleBinding to it grants no create. The role is deleted before any check runs, and no check recreates it.
	{Name: "kubeflow-pipelines-edit missing", Profile: "kubeflow", Tiers: both, Kube: true,
		Before: deletePipelinesEdit, After: stillMissing("kubeflow-pipelines-edit"),
		Want: map[string]Outcome{"RBAC-002": {Status: result.Fail, Reason: result.K8sRBAC, Contains: "kubeflow-edit"},
			"RBAC-001": {Status: result.Pass}}},
	// Without kubeflow-edit a profile namespace's default-editor (bound to it) has no KFP rights there: the
	// projected token cannot list or create in its own namespace. The run does not recreate the role.
	{Name: "kubeflow-edit missing", Profile: "kubeflow", Tiers: both, Kube: true,
		Before: deleteClusterRoleNamed("kubeflow-edit"), After: stillMissing("kubeflow-edit"),
		Want: map[string]Outcome{"SA-001": {Status: result.Fail, Reason: result.K8sRBAC, Contains: "no ClusterRole kubeflow-edit"}}},
	// The server profile's KFP has the isolation fixes; the deployed one does not (an image older than the
	// distribution's): what is a known gap of the old release is a failure here.
	{Name: "KFP without the pipeline-reference fix the profile's release has", Profile: "kubeflow", Tiers: embeddedOnly,
		Describe: func(p *profile.Profile) { p.KFP.AuthorizePipelineReferences = true },
		Want:     map[string]Outcome{"ISO-004": {Status: result.Fail, Reason: result.Unsecured, Contains: "PR#14348"}}},
	{Name: "KFP without the ServiceAccount fix the profile's release has", Profile: "kubeflow", Tiers: embeddedOnly,
		Describe: func(p *profile.Profile) { p.KFP.AuthorizeServiceAccounts = true },
		Want:     map[string]Outcome{"ISO-005": {Status: result.Fail, Reason: result.Unsecured, Contains: "PR#14181"}}},
	// deployKF#186: a namespace the profile controller did not set up has no default-editor RoleBinding.
	{Name: "a profile namespace without default-editor's RoleBinding", Profile: "kubeflow", Tiers: embeddedOnly,
		Before: deleteUserRoleBinding("default-editor"),
		Want:   map[string]Outcome{"SA-010": {Status: result.Fail, Reason: result.K8sRBAC, Contains: "deployKF#186"}}},
	{Name: "ml-pipeline-ui without its AuthorizationPolicy believes a forged kubeflow-userid", Profile: "kubeflow", Tiers: embeddedOnly,
		Before: func(ctx context.Context, h Hook) error {
			if h.Stand == nil {
				return fmt.Errorf("the runner offers no stand-in UI")
			}
			u, err := h.Stand.UIBelievingHeaders(ctx, h.Target)
			h.Target.InClusterUIURL = u
			return err
		},
		Want: map[string]Outcome{"ISO-001": {Status: result.Fail, Reason: result.Unsecured, Contains: "ml-pipeline-ui accepted"}}},
	// The OOB client's tokens at the gateway (deployKF: oauth2-proxy with skip_jwt_bearer_tokens and the SDK
	// client as an extra audience on /pipeline only).
	{Name: "oauth2-proxy without skip_jwt_bearer_tokens: bearer ID tokens are not sessions", Profile: "deploykf", Tiers: both,
		Break: func(p *profile.Profile) { p.Gateway.SkipJWTBearerTokens = false },
		Want:  map[string]Outcome{"OAUTH2P-004": fail(result.SessionNotAccepted)}},
	{Name: "the SDK audience accepted on every path (no extra_audiences_paths)", Profile: "deploykf", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) { p.Gateway.ExtraAudiencesPaths = nil },
		Want:  map[string]Outcome{"OAUTH2P-005": {Status: result.Fail, Reason: result.Audience, Contains: "outside /pipeline"}}},
	// The OOB client in Dex.
	{Name: "the OOB client is confidential: the code does not redeem without a secret", Profile: "deploykf", Tiers: both,
		Break: func(p *profile.Profile) {
			p.Dex.Clients[0].Public = false
			p.Dex.Clients[0].Secret = "not-the-sdk-s-secret"
		},
		Want: map[string]Outcome{"OOB-002": {Status: result.Fail, Reason: result.UnexpectedResponse, Contains: "invalid_client"},
			// not "Dex redeemed a PKCE code": invalid_client is no PKCE answer
			"OOB-003": {Status: result.Fail, Reason: result.UnexpectedResponse, Contains: "not a PKCE answer"}}},
	{Name: "the gateway's confidential client lists the OOB redirect", Profile: "deploykf", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) {
			p.Dex.Clients = append(p.Dex.Clients, profile.Client{ID: p.Gateway.ClientID, Name: "oauth2-proxy",
				Secret: p.Gateway.ClientSecret, RedirectURIs: []string{"urn:ietf:wg:oauth:2.0:oob", p.Gateway.RedirectURL}})
		},
		Want: map[string]Outcome{"OOB-004": {Status: result.Fail, Reason: result.NotSupported, Contains: "confidential client"}}},
	// refreshTokenPolicy.reuseInterval longer than the check's wait: the spent refresh token is handed out again.
	{Name: "a refresh reuse interval of 1000h: refresh tokens are not rotated", Profile: "deploykf", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) { p.Dex.RefreshReuseInterval.Duration = 1000 * time.Hour },
		Want:  map[string]Outcome{"OOB-006": {Status: result.Fail, Reason: result.UnexpectedResponse, Contains: "not rotated"}}},
	{Name: "Dex without the distribution's refresh-token lifetimes", Profile: "deploykf", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) { p.Dex.RefreshIdle.Duration = 0; p.Dex.RefreshAbsolute.Duration = 0 },
		Want:  map[string]Outcome{"OOB-007": {Status: result.Fail, Reason: result.UnexpectedResponse, Contains: "not refused cleanly"}}},
	// LDAP: the email comes from the wrong attribute, so the session is someone else's (the uid) to KFP.
	{Name: "Dex's LDAP connector takes the email from uid", Profile: "deploykf", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) { p.Dex.LDAP.UserSearch.EmailAttr = "uid" },
		Want:  map[string]Outcome{"DEX-LDAP-001": {Status: result.Fail, Reason: result.K8sRBAC, Contains: "ldapuser1"}}},
	{Name: "only the LDAP connector: connector_id=local does not reach the local form", Profile: "deploykf", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) { p.Dex.Connectors = p.Dex.Connectors[1:] },
		Want:  map[string]Outcome{"DEX-LDAP-002": fail(result.LoginFlow)}},
	// Dex without the password database (only the LDAP connector) while the target's users are local: the login
	// goes straight to the LDAP form and never comes to the local connector's. Embedded only: the real Dex refuses
	// to start with static passwords and no password database, and the local tier writes the users as those.
	{Name: "Dex without the local connector: the login never reaches it", Profile: "deploykf", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) { p.Dex.Connectors = p.Dex.Connectors[1:] },
		Want:  map[string]Outcome{"DEX-LOCAL-002": {Status: result.Fail, Reason: result.LoginFlow, Contains: "never reached /dex/auth/local/login"}}},
	// The mesh copies no claim to kubeflow-userid: the client's own header reaches KFP.
	{Name: "the gateway's JWT rules copy no claim to kubeflow-userid", Profile: "kubeflow-1.10-kind", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) {
			for i := range p.Gateway.Mesh.JWTRules {
				p.Gateway.Mesh.JWTRules[i].ClaimToHeaders = nil
			}
		},
		Want: map[string]Outcome{"M2M-004": {Status: result.Fail, Reason: result.Unsecured, Contains: "forged"}}},
	// The mutation suite: one bug in a stand-in at a time, each caught by the check named.
	// A certificate for another host name (an ingress's certificate for the public name, reached by its address or
	// an internal name): the chain verifies against the target's CA, the host name does not.
	{Name: "the https gateway serves a certificate for another host name", Profile: "deploykf", Tiers: embeddedOnly,
		GatewayCertHost: "kubeflow.example.invalid",
		Want:            map[string]Outcome{"SETUP-003": {Status: result.Fail, Reason: result.TLSError, Contains: "kubeflow.example.invalid"}}},
	{Name: "mutation: KFP asks its TokenReview for no audience and skips ensureAudience", Profile: "kubeflow", Tiers: embeddedOnly,
		Mutation: "kfp-no-audience", Want: map[string]Outcome{"SA-005": fail(result.Audience)}},
	{Name: "mutation: KFP skips its SubjectAccessReview", Profile: "kubeflow", Tiers: embeddedOnly, Smoke: true,
		Mutation: "kfp-allow-all", Want: map[string]Outcome{"RBAC-001": fail(result.Unsecured)}},
	{Name: "mutation: KFP caches an allowed SubjectAccessReview forever", Profile: "kubeflow", Tiers: embeddedOnly,
		Mutation: "kfp-cache-authz", Want: map[string]Outcome{"RBAC-004": fail(result.K8sRBAC)}},
	{Name: "mutation: KFP terminates, retries and archives another namespace's run unchecked", Profile: "kubeflow", Tiers: embeddedOnly,
		Mutation: "kfp-run-writes-unchecked", Want: map[string]Outcome{"ISO-006": fail(result.Unsecured)}},
	{Name: "mutation: the Kubernetes stand-in's rule matching ignores verbs", Profile: "kubeflow", Tiers: embeddedOnly,
		Mutation: "kube-ignore-verbs", Want: map[string]Outcome{"RBAC-003": fail(result.K8sRBAC)}},
	{Name: "mutation: the Kubernetes stand-in accepts expired ServiceAccount tokens", Profile: "kubeflow", Tiers: embeddedOnly,
		Mutation: "kube-token-no-expiry", Want: map[string]Outcome{"SA-011": {Status: result.Fail, Reason: result.InvalidCredentials, Contains: "expired token was accepted"}}},
	{Name: "mutation: the Kubernetes stand-in does not verify token signatures", Profile: "kubeflow", Tiers: embeddedOnly,
		Mutation: "kube-token-no-signature", Want: map[string]Outcome{"SA-012": {Status: result.Fail, Reason: result.InvalidCredentials, Contains: "altered token was accepted"}}},
	{Name: "mutation: Dex redeems a PKCE code without checking code_verifier", Profile: "deploykf", Tiers: embeddedOnly,
		Mutation: "dex-pkce-no-verifier", Want: map[string]Outcome{"OOB-003": fail(result.NotSupported)}},
	{Name: "mutation: KFP lets a request without any identity through", Profile: "kubeflow", Tiers: embeddedOnly,
		Mutation: "kfp-anonymous", Want: map[string]Outcome{"SA-003": fail(result.Unsecured)}},
	{Name: "mutation: ml-pipeline-ui drops the Authorization header on its way to the API", Profile: "kubeflow", Tiers: embeddedOnly,
		Mutation: "kfp-ui-drops-authorization", Want: map[string]Outcome{"SA-004": fail(result.NoIdentity)}},
	{Name: "mutation: oauth2-proxy reads only the first part of a split session cookie", Profile: "deploykf", Tiers: embeddedOnly,
		Mutation: "oauth2-proxy-first-chunk-only", Want: map[string]Outcome{"DEX-LDAP-003": fail(result.LoginFlow)}},
	{Name: "mutation: Dex's discovery names the issuer with a trailing slash", Profile: "deploykf", Tiers: embeddedOnly,
		Mutation: "dex-discovery-issuer-slash", Want: map[string]Outcome{"OOB-001": {Status: result.Fail, Reason: result.ConfigError, Contains: "did not match the issuer"}}},
	// Kubeflow 1.8.1's Dex skips the approval screen: the mutation needs a Dex that shows it, and a profile that
	// expects it, so that only the rejected approval is left to fail the login.
	{Name: "mutation: Dex's approval form rejects the approval", Profile: "kubeflow-1.8", Tiers: embeddedOnly,
		Break:    func(p *profile.Profile) { p.Dex.SkipApprovalScreen = false },
		Describe: func(p *profile.Profile) { p.Dex.SkipApprovalScreen = false; p.Expect.ApprovalScreen = true },
		Mutation: "dex-approval-rejected", Want: map[string]Outcome{"DEX-LOCAL-004": fail(result.LoginFlow)}},
	{Name: "mutation: KFP serves no v1beta1", Profile: "kubeflow", Tiers: embeddedOnly,
		Mutation: "kfp-no-v1beta1", Want: map[string]Outcome{"SETUP-002": fail(result.VersionMismatch)}},
	{Name: "mutation: Dex's local connector accepts any password", Profile: "kubeflow", Tiers: embeddedOnly,
		Mutation: "dex-any-password", Want: map[string]Outcome{"DEX-LOCAL-003": fail(result.LoginFlow)}},
	{Name: "mutation: the directory accepts any bind password", Profile: "deploykf", Tiers: embeddedOnly,
		Mutation: "ldap-any-password", Want: map[string]Outcome{"DEX-LDAP-002": fail(result.LoginFlow)}},
	{Name: "mutation: oauth2-proxy accepts any absolute rd", Profile: "kubeflow", Tiers: embeddedOnly,
		Mutation: "oauth2-proxy-any-redirect", Want: map[string]Outcome{"OAUTH2P-006": fail(result.OpenRedirect)}},
	// Two tenants of the cluster, one of which binds the other's default-editor to kubeflow-edit without KFAM:
	// the isolation audit names the grant.
	{Name: "a tenant binds another tenant's default-editor to kubeflow-edit without KFAM", Profile: "kubeflow", Tiers: both, Kube: true,
		Before: foreignTenantBinding,
		Want: map[string]Outcome{"ISO-009": {Status: result.Fail, Reason: result.Unsecured,
			Contains: "cross-namespace"}}},
	// The m2m-dex-only releases refuse cluster tokens at the gateway: a gateway that takes them after all (the
	// m2m-dex-and-kind overlay's ServiceAccount issuer rules) is not the release.
	{Name: "m2m-dex-only's gateway accepts cluster tokens after all: the release refuses them", Profile: "kubeflow-1.10", Tiers: embeddedOnly,
		Break: addKubeIssuers, Want: map[string]Outcome{"M2M-001": fail(result.GatewayConfig), "M2M-002": fail(result.GatewayConfig)}},
	// Identity-header smuggling (ISO-008): the part of the gateway that sets kubeflow-userid from the verified
	// session keeps a header the client sent itself.
	{Name: "the gateway passes the client's own kubeflow-userid", Profile: "deploykf", Tiers: both,
		Break: func(p *profile.Profile) { p.Gateway.PassClientIdentityHeader = true },
		Want:  map[string]Outcome{"ISO-008": fail(result.Unsecured)}},
	{Name: "oidc-authservice passes the client's own kubeflow-userid", Profile: "kubeflow-1.8", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) { p.Gateway.PassClientIdentityHeader = true },
		Want:  map[string]Outcome{"ISO-008": fail(result.Unsecured)}},
	{Name: "Kubeflow 1.10's gateway passes the client's kubeflow-userid and its mesh copies no claim over it", Profile: "kubeflow-1.10-kind", Tiers: embeddedOnly,
		Break: func(p *profile.Profile) {
			p.Gateway.PassClientIdentityHeader = true
			for i := range p.Gateway.Mesh.JWTRules {
				p.Gateway.Mesh.JWTRules[i].ClaimToHeaders = nil
			}
		},
		Want: map[string]Outcome{"ISO-008": fail(result.Unsecured)}},
	{Name: "mutation: oauth2-proxy passes the client's kubeflow-userid upstream", Profile: "deploykf", Tiers: embeddedOnly,
		Mutation: "oauth2-proxy-pass-userid", Want: map[string]Outcome{"ISO-008": fail(result.Unsecured)}},
	// Two logins whose auth requests are pending at Dex at once (DEX-LOCAL-007 holds each on the login form until
	// the other has reached it): a Dex that keeps one pending auth request refuses the first one's POST.
	{Name: "mutation: Dex keeps one pending auth request", Profile: "kubeflow", Tiers: embeddedOnly,
		Mutation: "dex-one-pending-auth-request", Want: map[string]Outcome{"DEX-LOCAL-007": {Status: result.Fail,
			Reason: result.LoginFlow, Contains: "parallel"}}},
	// manifests#3491: the session expired and the gateway answered 500 where it should start a new login.
	{Name: "mutation: oauth2-proxy answers an expired session with 500", Profile: "kubeflow", Tiers: embeddedOnly,
		Mutation: "oauth2-proxy-expired-500", Want: map[string]Outcome{"DEX-LOCAL-009": fail(result.ServerError)}},
	// Kubeflow's admission-webhook unregistered (or never installed): the PodDefault is there, but nothing applies
	// it, so a notebook's pod is admitted without KFP's token. The unbroken deployment is the release plus the
	// PodDefault kubeflow/manifests' CI applies (no release ships it: SA-007 fails on each as shipped).
	{Name: "the PodDefault webhook unregistered: pods are admitted without KFP's token", Profile: "kubeflow-1.10-kind",
		Tiers: []string{Local}, Kube: true, Base: withPodDefault("access-ml-pipeline"), Before: unregisterPodDefaultWebhook,
		Want: map[string]Outcome{"SA-007": {Status: result.Fail, Reason: result.PodDefaultNotApplied, Contains: "no projected token volume"}}},
	// The session cookie set without cookie_path: the browser keeps it for /oauth2, the callback's directory, and
	// never sends it to /pipeline; the login cannot end in a session.
	{Name: "mutation: oauth2-proxy sets the session cookie without cookie_path", Profile: "kubeflow", Tiers: embeddedOnly,
		Mutation: "oauth2-proxy-session-cookie-no-path", Want: map[string]Outcome{"DEX-LOCAL-005": {Status: result.Fail,
			Reason: result.CookieFlags, Contains: "oauth2_proxy_kubeflow is not sent with the API's requests"}}},
	{Name: "mutation: the gateway does not verify JWT signatures", Profile: "kubeflow-1.10-kind", Tiers: embeddedOnly,
		Mutation: "gateway-no-signature", Want: map[string]Outcome{"M2M-005": fail(result.InvalidCredentials)}},
}

// deletePipelinesEdit deletes KFP's kubeflow-pipelines-edit through the target's Kubernetes client and waits
// until the cluster's aggregation has taken its write rules out of kubeflow-edit (a controller takes a moment).
func deletePipelinesEdit(ctx context.Context, h Hook) error {
	kube := h.Target.Kube
	if kube == nil {
		return fmt.Errorf("the target has no Kubernetes client")
	}
	if err := kube.RbacV1().ClusterRoles().Delete(ctx, "kubeflow-pipelines-edit", metav1.DeleteOptions{}); err != nil {
		return err
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		cr, err := kube.RbacV1().ClusterRoles().Get(ctx, "kubeflow-edit", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, rule := range cr.Rules {
			if slices.Contains(rule.APIGroups, "pipelines.kubeflow.org") && slices.Contains(rule.Resources, "experiments") &&
				slices.Contains(rule.Verbs, "create") {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("kubeflow-edit kept KFP's write rules after kubeflow-pipelines-edit was deleted: %w", err)
	}
	return nil
}

// deleteClusterRoleNamed deletes a ClusterRole through the target's Kubernetes client.
func deleteClusterRoleNamed(name string) func(ctx context.Context, h Hook) error {
	return func(ctx context.Context, h Hook) error {
		if h.Target.Kube == nil {
			return fmt.Errorf("the target has no Kubernetes client")
		}
		return h.Target.Kube.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})
	}
}

// addKubeIssuers gives the gateway the m2m-dex-and-kind overlay's ServiceAccount issuer rules (not the m2m
// capability), so a stack of an m2m-dex-only release accepts cluster tokens it should refuse.
func addKubeIssuers(p *profile.Profile) {
	for _, iss := range []string{"https://kubernetes.default.svc.cluster.local", "https://kubernetes.default.svc"} {
		p.Gateway.Mesh.JWTRules = append(p.Gateway.Mesh.JWTRules, profile.JWTRule{Issuer: iss,
			ClaimToHeaders: []profile.ClaimToHeader{{Header: "kubeflow-userid", Claim: "sub"}}})
	}
}

// foreignTenantBinding makes two profile namespaces (labelled as Kubeflow's profile controller labels them), the
// first binding the second's default-editor to kubeflow-edit with no KFAM annotation; both go when the case ends.
func foreignTenantBinding(ctx context.Context, h Hook) error {
	kc := h.Target.Kube
	if kc == nil {
		return fmt.Errorf("the target has no Kubernetes client")
	}
	for _, ns := range []string{"tenant-x", "tenant-y"} {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"app.kubernetes.io/part-of": "kubeflow-profile"}}}
		if _, err := kc.CoreV1().Namespaces().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return err
		}
		h.Cleanup(func() {
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = kc.CoreV1().Namespaces().Delete(cctx, ns, metav1.DeleteOptions{})
		})
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "share-with-y", Namespace: "tenant-x"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kubeflow-edit"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "default-editor", Namespace: "tenant-y"}}}
	_, err := kc.RbacV1().RoleBindings("tenant-x").Create(ctx, rb, metav1.CreateOptions{})
	return err
}

// stillMissing says the run did not recreate a ClusterRole a case deleted.
func stillMissing(name string) func(ctx context.Context, h Hook) error {
	return func(ctx context.Context, h Hook) error {
		_, err := h.Target.Kube.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("ClusterRole %s was recreated during the run", name)
	}
}

// deleteUserRoleBinding deletes a RoleBinding of the first user's namespace.
func deleteUserRoleBinding(name string) func(ctx context.Context, h Hook) error {
	return func(ctx context.Context, h Hook) error {
		if h.Target.Kube == nil || len(h.Target.Users) == 0 || h.Target.Users[0].Namespace == "" {
			return fmt.Errorf("the target has no Kubernetes client or no user namespace")
		}
		return h.Target.Kube.RbacV1().RoleBindings(h.Target.Users[0].Namespace).Delete(ctx, name, metav1.DeleteOptions{})
	}
}

// withPodDefault gives the profile's namespaces a PodDefault that projects KFP's token, named and selected by
// name, and expects SA-007 to pass (the release as shipped has none and expects it to fail).
func withPodDefault(name string) func(p *profile.Profile) {
	return func(p *profile.Profile) {
		p.KFP.PodDefault = &profile.PodDefault{Name: name, Label: name}
		delete(p.Expect.Verdicts, "SA-007")
	}
}

// unregisterPodDefaultWebhook deletes every MutatingWebhookConfiguration that holds the PodDefault webhook
// (Kubeflow's admission-webhook, or a stand-in registered under a poddefault name) through the target's
// Kubernetes client, and waits until the API server admits a pod carrying the PodDefault's label unchanged
// (kube-apiserver sees webhook changes through its informers, a moment after the write).
func unregisterPodDefaultWebhook(ctx context.Context, h Hook) error {
	kc := h.Target.Kube
	if kc == nil || len(h.Target.Users) == 0 || h.Target.Users[0].Namespace == "" || h.Target.Profile == nil ||
		h.Target.Profile.KFP.PodDefault == nil {
		return fmt.Errorf("the target has no Kubernetes client, user namespace or PodDefault")
	}
	hooks := kc.AdmissionregistrationV1().MutatingWebhookConfigurations()
	list, err := hooks.List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	deleted := 0
	for _, cfg := range list.Items {
		for _, wh := range cfg.Webhooks {
			if strings.Contains(wh.Name, "poddefault") || strings.HasPrefix(wh.Name, "admission-webhook") {
				if err := hooks.Delete(ctx, cfg.Name, metav1.DeleteOptions{}); err != nil {
					return err
				}
				deleted++
				break
			}
		}
	}
	if deleted == 0 {
		return fmt.Errorf("no MutatingWebhookConfiguration holds a PodDefault webhook")
	}
	label := h.Target.Profile.KFP.PodDefault.Label
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "kfp-authcheck-webhook-gone-", Labels: map[string]string{label: "true"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}}}
	ns := h.Target.Users[0].Namespace
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := kc.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return false, nil // the webhook still answering for a moment, or refusing: try again
		}
		return onlyServiceAccountVolumes(got), nil
	})
}

// onlyServiceAccountVolumes reports whether the pod's volumes are only the API server's own (the
// ServiceAccount's kube-api-access volume), i.e. nothing a PodDefault added.
func onlyServiceAccountVolumes(p *corev1.Pod) bool {
	for _, v := range p.Spec.Volumes {
		if !strings.HasPrefix(v.Name, "kube-api-access-") {
			return false
		}
	}
	return true
}
