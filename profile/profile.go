// Package profile describes the known ways a distribution wires KFP auth. A profile is data (YAML embedded in the
// binary, or loaded from a file), never code paths: the mocks, the local tier's generated configs and the checks'
// expectations are all derived from it.
package profile

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kfp-authcheck/kfp-authcheck/internal/limits"
)

//go:embed profiles/*.yaml
var builtin embed.FS

// Profile is one server profile: a column of the matrix.
type Profile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// MultiUser is false for a standalone KFP without auth: every multi-user check is n/a there.
	MultiUser bool `json:"multi_user"`
	// HTTPS serves the embedded gateway over TLS with a generated CA (deployKF's __Secure- cookie needs it).
	HTTPS   bool     `json:"https"`
	Gateway *Gateway `json:"gateway,omitempty"`
	Dex     *Dex     `json:"dex,omitempty"`
	KFP     KFP      `json:"kfp"`
	Users   []User   `json:"users,omitempty"`
	// Roles names the release whose ClusterRoles (Kubeflow's aggregation tree as shipped) the stacks apply and
	// RBAC-003 judges: fixtures/manifests/roles/<roles>.yaml. Empty: the harness's default Kubeflow roles.
	Roles string `json:"roles,omitempty"`
	// RolesManifest holds an imported profile's ClusterRoles in memory where they match no built-in release
	// (run --manifests); never read from or written to a profile file.
	RolesManifest []byte `json:"-"`
	// Capabilities the setup offers, from the closed vocabulary (capability.go; only the declarable ones). A check
	// that needs a capability the target lacks is n/a, never fail.
	Capabilities []Capability `json:"capabilities"`
	// Expect holds what a conforming deployment of this profile shows, for the checks that record behaviour
	// rather than judge it (which unauthenticated answer, whether the approval screen appears).
	Expect Expect `json:"expect"`
}

// Gateway is the auth proxy in front of KFP: oauth2-proxy (Kubeflow 1.9+, deployKF) or oidc-authservice (Kubeflow
// 1.8), expressed as the oauth2-proxy options they amount to.
type Gateway struct {
	// Kind is "oauth2-proxy" or "oidc-authservice"; it names the program, the options below say how it behaves.
	Kind        string `json:"kind"`
	Version     string `json:"version,omitempty"`
	ProxyPrefix string `json:"proxy_prefix"`
	// StartPath is where a login starts (oauth2-proxy's /oauth2/start); empty where the program has none.
	StartPath    string `json:"start_path,omitempty"`
	CallbackPath string `json:"callback_path"`
	// RedirectURL is the redirect_uri sent to Dex: relative (Kubeflow) or absolute (deployKF, filled from the
	// gateway URL when it starts with "/").
	RedirectURL string `json:"redirect_url"`
	// AbsoluteRedirectURL makes the stack send RedirectURL resolved against the gateway URL (deployKF does).
	AbsoluteRedirectURL bool   `json:"absolute_redirect_url,omitempty"`
	ClientID            string `json:"client_id"`
	ClientSecret        string `json:"client_secret"`
	Scope               string `json:"scope"`
	Prompt              string `json:"prompt,omitempty"`
	ApprovalPrompt      string `json:"approval_prompt,omitempty"`
	// OmitPrompt sends neither prompt nor approval_prompt (oidc-authservice); otherwise an empty prompt means
	// oauth2-proxy's default approval_prompt=force.
	OmitPrompt bool `json:"omit_prompt,omitempty"`
	// OIDCNonce sends a nonce (oauth2-proxy's insecure_oidc_skip_nonce=false, as deployKF sets it).
	OIDCNonce bool `json:"oidc_nonce,omitempty"`
	// CodeChallengeMethod is "S256" or "" (no PKCE).
	CodeChallengeMethod string `json:"code_challenge_method,omitempty"`
	// LoginPath is the Dex authorization endpoint as the gateway redirects to it (relative, through the gateway).
	LoginPath string `json:"login_path"`
	// SkipProviderButton true: unauthenticated browser requests get a 302 to Dex; false: the 403 sign-in page.
	SkipProviderButton bool `json:"skip_provider_button"`
	// APIRoutes are regexes (unanchored unless they say ^) on the request URI that get 401 {} instead of a login.
	APIRoutes []string `json:"api_routes,omitempty"`
	// DetectAJAX answers 401 {} when Accept is exactly application/json (oauth2-proxy does, authservice does not).
	DetectAJAX     bool     `json:"detect_ajax"`
	CookieName     string   `json:"cookie_name"`
	CookieSecure   bool     `json:"cookie_secure"`
	CookieHTTPOnly bool     `json:"cookie_httponly"`
	CookieSameSite string   `json:"cookie_samesite,omitempty"`
	CookieExpire   Duration `json:"cookie_expire"`
	// CookieRefresh is cookie_refresh: after it oauth2-proxy refreshes the session with Dex's refresh token
	// (deployKF: 60m); 0 never (Kubeflow).
	CookieRefresh Duration `json:"cookie_refresh,omitempty"`
	// CookiePath is cookie_path, the Path of the session and CSRF cookies; "" means oauth2-proxy's default "/".
	CookiePath string `json:"cookie_path,omitempty"`
	// WhitelistDomains is whitelist_domains, the hosts an absolute rd may lead to; none by default.
	WhitelistDomains []string `json:"whitelist_domains,omitempty"`
	// CSRFCookieName is the state cookie; empty means "<cookie_name>_csrf" as oauth2-proxy names it.
	CSRFCookieName string `json:"csrf_cookie_name,omitempty"`
	// CSRFPerRequest appends a per-state suffix to the CSRF cookie name (cookie_csrf_per_request).
	CSRFPerRequest bool   `json:"csrf_per_request"`
	UserIDHeader   string `json:"userid_header"`
	UserIDClaim    string `json:"userid_claim"`
	// SetAuthorizationHeader passes "Authorization: Bearer <id_token>" upstream.
	SetAuthorizationHeader bool `json:"set_authorization_header"`
	// SkipJWTBearerTokens accepts a Bearer Dex ID token instead of a cookie (issue: OOB).
	SkipJWTBearerTokens bool     `json:"skip_jwt_bearer_tokens"`
	ExtraAudiences      []string `json:"extra_audiences,omitempty"`
	// ExtraAudiencesPaths limits ExtraAudiences to these path prefixes (deployKF: /pipeline only); empty = all.
	ExtraAudiencesPaths []string `json:"extra_audiences_paths,omitempty"`
	// ProviderDisplayName is the sign-in page's button label ("Sign in with Dex").
	ProviderDisplayName string `json:"provider_display_name,omitempty"`
	// PassClientIdentityHeader plays a broken gateway: an identity header (kfp.userid_header) the client sent
	// itself reaches KFP unchanged instead of being dropped or overwritten from the verified session or token; the
	// gateway sets it only where the client sent none (an Envoy header rule with append, a Lua filter that sets a
	// missing header). Any logged-in user then acts as any other (ISO-008). Behind a mesh whose jwt rules copy a
	// claim into the header (Kubeflow 1.9+'s outputClaimToHeaders), the mesh still overwrites it on every request
	// whose token it verifies, cookie requests included (oauth2-proxy hands it the ID token): the setup is broken
	// only where those rules lack the mapping too.
	PassClientIdentityHeader bool `json:"pass_client_identity_header,omitempty"`
	// Mesh is the Istio ingress gateway in front of the proxy (kubeflow/manifests 1.9+); nil where the proxy's
	// own chain is the whole gateway (Kubeflow 1.8's EnvoyFilter, deployKF's hand-written filter chain).
	Mesh *Mesh `json:"mesh,omitempty"`
}

// Mesh is the part of Kubeflow's Istio configuration that decides identity (WIRE-FACTS.md 1.3 and 1.4): the
// CUSTOM ext-authz policy that requests with an Authorization header skip, the RequestAuthentications' jwtRules
// and the DENY policy for requests without a request principal, all three exempting the same paths.
type Mesh struct {
	// ExemptPrefixes are the policies' notPaths (/dex/*, /dex/**, /oauth2/*) as path prefixes.
	ExemptPrefixes []string `json:"exempt_prefixes"`
	// JWTRules are the RequestAuthentications' rules: dex-jwt, and the m2m-token-issuer rules of the M2M overlay.
	JWTRules []JWTRule `json:"jwt_rules"`
}

// DexIssuer in a JWT rule stands for the profile's Dex issuer, which is known only once the gateway runs.
const DexIssuer = "dex"

// JWTRule is one jwtRules entry: an issuer (DexIssuer, or a Kubernetes ServiceAccount issuer whose keys come
// from the cluster's /openid/v1/jwks through cluster-jwks-proxy) and the claims copied into headers.
type JWTRule struct {
	Issuer         string          `json:"issuer"`
	ClaimToHeaders []ClaimToHeader `json:"claim_to_headers"`
}

// ClaimToHeader is one outputClaimToHeaders entry.
type ClaimToHeader struct {
	Header string `json:"header"`
	Claim  string `json:"claim"`
}

// M2MIssuers are the non-Dex issuers the gateway accepts: the Kubernetes ServiceAccount issuers of the M2M
// overlay (none for m2m-dex-only, deployKF and Kubeflow 1.8).
func (g *Gateway) M2MIssuers() []string {
	if g == nil || g.Mesh == nil {
		return nil
	}
	var out []string
	for _, r := range g.Mesh.JWTRules {
		if r.Issuer != DexIssuer {
			out = append(out, r.Issuer)
		}
	}
	return out
}

// Dex is the identity provider's configuration.
type Dex struct {
	Version            string   `json:"version,omitempty"`
	SkipApprovalScreen bool     `json:"skip_approval_screen"`
	AlwaysShowLogin    bool     `json:"always_show_login"`
	IDTokenTTL         Duration `json:"id_token_ttl"`
	// RefreshReuseInterval, RefreshIdle and RefreshAbsolute are expiry.refreshTokens reuseInterval,
	// validIfNotUsedFor and absoluteLifetime (deployKF: 30s, 168h, 2160h); unset means Dex's default of no limit.
	RefreshReuseInterval Duration `json:"refresh_reuse_interval,omitempty"`
	RefreshIdle          Duration `json:"refresh_idle,omitempty"`
	RefreshAbsolute      Duration `json:"refresh_absolute,omitempty"`
	// ResponseTypes is oauth2.responseTypes; default ["code"] (deployKF: code, token, id_token).
	ResponseTypes []string    `json:"response_types,omitempty"`
	Connectors    []Connector `json:"connectors"`
	// Clients are provisioned through Dex's gRPC API, besides the gateway's own client.
	Clients []Client `json:"clients,omitempty"`
	// LDAP configures the connector of type ldap (Dex's connector/ldap config block). The server itself is
	// given at run time: the in-process server with fixtures/ldap/directory.ldif, or KFP_AUTHCHECK_LDAP_URL.
	LDAP *LDAP `json:"ldap,omitempty"`
}

// LDAP is Dex's ldap connector configuration, in the profile's spelling.
type LDAP struct {
	BindDN         string `json:"bind_dn"`
	BindPW         string `json:"bind_pw"`
	UsernamePrompt string `json:"username_prompt,omitempty"`
	// Timeout bounds each LDAP dial and operation of the stand-in connector; default 5s.
	Timeout     Duration        `json:"timeout,omitempty"`
	UserSearch  LDAPUserSearch  `json:"user_search"`
	GroupSearch LDAPGroupSearch `json:"group_search"`
}

// LDAPUserSearch is userSearch.
type LDAPUserSearch struct {
	BaseDN                string `json:"base_dn"`
	Filter                string `json:"filter,omitempty"`
	Username              string `json:"username"`
	Scope                 string `json:"scope,omitempty"`
	IDAttr                string `json:"id_attr"`
	EmailAttr             string `json:"email_attr"`
	NameAttr              string `json:"name_attr,omitempty"`
	PreferredUsernameAttr string `json:"preferred_username_attr,omitempty"`
}

// LDAPGroupSearch is groupSearch.
type LDAPGroupSearch struct {
	BaseDN       string            `json:"base_dn,omitempty"`
	Filter       string            `json:"filter,omitempty"`
	Scope        string            `json:"scope,omitempty"`
	UserMatchers []LDAPUserMatcher `json:"user_matchers,omitempty"`
	NameAttr     string            `json:"name_attr,omitempty"`
}

// LDAPUserMatcher is one userMatchers entry.
type LDAPUserMatcher struct {
	UserAttr  string `json:"user_attr"`
	GroupAttr string `json:"group_attr"`
}

// Connector is one Dex connector.
type Connector struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// Client is one OAuth2 client registered in Dex.
type Client struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Secret       string   `json:"secret,omitempty"`
	Public       bool     `json:"public,omitempty"`
	RedirectURIs []string `json:"redirect_uris"`
}

// KFP describes the pipelines API behind the gateway.
type KFP struct {
	Version      string `json:"version"`
	UserIDHeader string `json:"userid_header"`
	UserIDPrefix string `json:"userid_prefix"`
	// ErrorFormat is "grpc-gateway-v1" (KFP <= 2.5: an "error" key) or "grpc-gateway-v2" (KFP 2.14+).
	ErrorFormat string `json:"error_format"`
	// Namespaces are the Kubeflow Profiles: who owns or contributes to which namespace.
	Namespaces []Namespace `json:"namespaces,omitempty"`
	// AuthorizePipelineReferences: a run that names a stored pipeline is authorized against that pipeline's
	// namespace too (the GHSA-v83x-544f-ph2r fix, pipelines PR#14348); false for every KFP release the built-in
	// profiles model.
	AuthorizePipelineReferences bool `json:"authorize_pipeline_references,omitempty"`
	// AuthorizeServiceAccounts: a run's caller-chosen serviceAccountName must be in AllowedServiceAccounts and
	// pass a SubjectAccessReview for "use" (pipelines PR#14181); false for every KFP release the built-in
	// profiles model.
	AuthorizeServiceAccounts bool     `json:"authorize_service_accounts,omitempty"`
	AllowedServiceAccounts   []string `json:"allowed_service_accounts,omitempty"`
	// UIPolicy is the Istio AuthorizationPolicy on ml-pipeline-ui as pods in the cluster meet it (SA-004):
	// "authorization-without-userid" (Kubeflow 1.9+: a request with an Authorization header and no identity
	// header is let through), "gateway-only" (Kubeflow 1.8: only istio-system, so every pod is refused), or ""
	// where the profile does not model an in-cluster UI address.
	UIPolicy string `json:"ui_policy,omitempty"`
	// PodDefault is the PodDefault that gives a profile namespace's pods KFP's token (SA-007): Kubeflow's
	// access-ml-pipeline, deployKF's kubeflow-pipelines-api-token. Nil where the profile has none.
	PodDefault *PodDefault `json:"pod_default,omitempty"`
}

// PodDefault names a PodDefault and the label (value "true") that selects it.
type PodDefault struct {
	Name  string `json:"name"`
	Label string `json:"label"`
}

// Namespace is a Kubeflow Profile: a namespace, its owner and its contributors.
type Namespace struct {
	Name         string   `json:"name"`
	Owner        string   `json:"owner"`
	Contributors []string `json:"contributors,omitempty"`
}

// User is a login the profile provisions.
type User struct {
	Email     string   `json:"email"`
	Username  string   `json:"username,omitempty"`
	UserID    string   `json:"user_id,omitempty"`
	Password  string   `json:"password"`
	Connector string   `json:"connector"`
	Namespace string   `json:"namespace,omitempty"`
	Groups    []string `json:"groups,omitempty"`
}

// Expect is what a conforming deployment of the profile shows on the wire.
type Expect struct {
	// Unauthenticated is the class of answer to an unauthenticated browser GET of the pipeline UI:
	// "redirect" (302 to Dex), "sign-in-page" (403 HTML) or "open" (200, no auth).
	Unauthenticated string `json:"unauthenticated"`
	// APIUnauthenticatedStatus is the status of an unauthenticated GET of a /pipeline/apis path.
	APIUnauthenticatedStatus int  `json:"api_unauthenticated_status"`
	ApprovalScreen           bool `json:"approval_screen"`
	// APIVersions lists the KFP REST versions served: "v1beta1", "v2beta1".
	APIVersions []string `json:"api_versions"`
	// LoginChain is the golden redirect chain of a successful Dex login started at the pipeline URL: one
	// "METHOD /path STATUS" per hop, paths without queries (DEX-LOCAL-002 compares with it).
	LoginChain []string `json:"login_chain,omitempty"`
	// Verdicts are the statuses a conforming deployment of this profile gets where that is not pass (or n/a
	// for a missing capability): "DEX-LOCAL-004: warn". The suites assert them.
	Verdicts map[string]string `json:"verdicts,omitempty"`
}

// Has reports whether the profile declares capability c.
func (p *Profile) Has(c Capability) bool {
	for _, v := range p.Capabilities {
		if v == c {
			return true
		}
	}
	return false
}

// OOBClientID is the public client Dex holds for the out-of-band login (redirect urn:ietf:wg:oauth:2.0:oob) where
// the profile offers it, else "".
func (p *Profile) OOBClientID() string {
	if !p.Has(CapOOBClient) || p.Dex == nil {
		return ""
	}
	for _, c := range p.Dex.Clients {
		if !c.Public {
			continue
		}
		for _, r := range c.RedirectURIs {
			if r == OOBRedirectURI {
				return c.ID
			}
		}
	}
	return ""
}

// OOBRedirectURI is the out-of-band redirect URI of the KFP SDK's login.
const OOBRedirectURI = "urn:ietf:wg:oauth:2.0:oob"

// Validate checks that the profile is complete enough to start a stack from.
func (p *Profile) Validate() error {
	var errs []string
	if p.Name == "" {
		errs = append(errs, "name is empty")
	}
	if p.MultiUser {
		if p.Gateway == nil {
			errs = append(errs, "a multi-user profile needs gateway")
		}
		if p.Dex == nil {
			errs = append(errs, "a multi-user profile needs dex")
		}
		if len(p.Users) == 0 {
			errs = append(errs, "a multi-user profile needs at least one user")
		}
	}
	if g := p.Gateway; g != nil {
		if g.CookieName == "" || g.ClientID == "" || g.CallbackPath == "" || g.LoginPath == "" {
			errs = append(errs, "gateway needs cookie_name, client_id, callback_path and login_path")
		}
		if strings.HasPrefix(g.CookieName, "__Secure-") && !g.CookieSecure {
			errs = append(errs, "a __Secure- cookie must be secure")
		}
		if g.Mesh != nil {
			for i, r := range g.Mesh.JWTRules {
				if r.Issuer == "" {
					errs = append(errs, fmt.Sprintf("gateway.mesh.jwt_rules[%d] needs issuer", i))
				}
			}
		}
	}
	if p.Dex != nil {
		for _, c := range p.Dex.Connectors {
			if c.Type == "ldap" && p.Dex.LDAP == nil {
				errs = append(errs, fmt.Sprintf("connector %q of type ldap needs dex.ldap", c.ID))
			}
		}
	}
	for _, u := range p.Users {
		if u.Connector == "ldap" && u.Username == "" {
			errs = append(errs, fmt.Sprintf("LDAP user %q needs username (the login name)", u.Email))
		}
		if u.Email == "" || u.Password == "" || u.Connector == "" {
			errs = append(errs, fmt.Sprintf("user %q needs email, password and connector", u.Email))
		}
	}
	for _, c := range p.Capabilities {
		if !c.Declarable() {
			errs = append(errs, fmt.Sprintf("capability %q follows from what the target offers when it runs and cannot be declared (declarable: %s)",
				c, strings.Join(capabilityNames(true), ", ")))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("profile %q: %s", p.Name, strings.Join(errs, "; "))
	}
	return nil
}

// Names lists the built-in profiles in matrix order: each Kubeflow release imported from its manifests
// (profile/importer), then deployKF and a standalone KFP.
func Names() []string {
	return []string{"kubeflow-1.8", "kubeflow-1.9", "kubeflow-1.10", "kubeflow-1.10-kind", "kubeflow-1.11", "deploykf", "standalone"}
}

// Aliases maps a name Get accepts to the built-in profile it stands for: "kubeflow" is the newest release.
func Aliases() map[string]string { return map[string]string{"kubeflow": "kubeflow-1.11"} }

// Get returns a fresh copy of a built-in profile (or of the one an alias names, under the alias).
func Get(name string) (*Profile, error) {
	file := name
	if a, ok := Aliases()[name]; ok {
		file = a
	}
	b, err := builtin.ReadFile("profiles/" + file + ".yaml")
	if err != nil {
		known := Names()
		for a := range Aliases() {
			known = append(known, a)
		}
		sort.Strings(known)
		return nil, fmt.Errorf("unknown profile %q (known: %s)", name, strings.Join(known, ", "))
	}
	p, err := parse(b, name)
	if err != nil {
		return nil, err
	}
	if file != name {
		p.Name = name
		p.Description += " (alias of " + file + ")"
	}
	return p, nil
}

// Load reads a profile from a YAML file.
func Load(path string) (*Profile, error) {
	b, err := limits.ReadFile(path, "profile file", limits.TargetFile)
	if err != nil {
		return nil, fmt.Errorf("read profile: %w", err)
	}
	return parse(b, path)
}

func parse(b []byte, source string) (*Profile, error) {
	var p Profile
	if err := limits.CheckYAML(bytes.TrimSpace(b)); err != nil {
		return nil, fmt.Errorf("profile %s: %w", source, err)
	}
	if err := yaml.UnmarshalStrict(bytes.TrimSpace(b), &p); err != nil {
		return nil, fmt.Errorf("profile %s: %w", source, err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Duration is a time.Duration spelled as Go spells it ("24h", "30s") in YAML and JSON.
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as a string such as "24h0m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "24h"-style strings.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"24h\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}
