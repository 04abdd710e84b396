package importer

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"

	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// TestUsers are the harness's logins. The manifests hold bcrypt hashes, not passwords: a run of an imported
// profile logs in as these users (the static user of the same email keeps its username and userID).
var TestPassword = "12341234"

func (im *importer) derive(p *profile.Profile) {
	issuer := im.deriveDex(p)
	im.deriveGateway(p, issuer)
	im.deriveKFP(p)
	im.deriveRBAC()
	im.deriveRoles(p)
	im.deriveNetworkPolicies()
	im.deriveUsers(p)
	im.deriveCapabilities(p)
	im.deriveExpect(p)
}

// ---- Dex ----

type dexConfig struct {
	Issuer string `json:"issuer"`
	OAuth2 struct {
		SkipApprovalScreen    bool     `json:"skipApprovalScreen"`
		AlwaysShowLoginScreen bool     `json:"alwaysShowLoginScreen"`
		ResponseTypes         []string `json:"responseTypes"`
	} `json:"oauth2"`
	Expiry struct {
		IDTokens      string `json:"idTokens"`
		RefreshTokens struct {
			ReuseInterval     string `json:"reuseInterval"`
			ValidIfNotUsedFor string `json:"validIfNotUsedFor"`
			AbsoluteLifetime  string `json:"absoluteLifetime"`
		} `json:"refreshTokens"`
	} `json:"expiry"`
	EnablePasswordDB bool `json:"enablePasswordDB"`
	StaticPasswords  []struct {
		Email       string `json:"email"`
		Username    string `json:"username"`
		UserID      string `json:"userID"`
		Hash        string `json:"hash"`
		HashFromEnv string `json:"hashFromEnv"`
	} `json:"staticPasswords"`
	StaticClients []struct {
		ID           string   `json:"id"`
		IDEnv        string   `json:"idEnv"`
		Secret       string   `json:"secret"`
		SecretEnv    string   `json:"secretEnv"`
		Name         string   `json:"name"`
		Public       bool     `json:"public"`
		RedirectURIs []string `json:"redirectURIs"`
	} `json:"staticClients"`
	Connectors []struct {
		Type   string         `json:"type"`
		ID     string         `json:"id"`
		Name   string         `json:"name"`
		Config map[string]any `json:"config"`
	} `json:"connectors"`
}

// dexState is what the gateway derivation needs from Dex: the issuer and the static clients (resolved).
type dexState struct {
	issuer  string
	clients map[string]resolvedClient
	src     Source
}

type resolvedClient struct {
	id, secret   string
	redirectURIs []string
	idSrc        Source
	secretSrc    Source
}

func (im *importer) deriveDex(p *profile.Profile) *dexState {
	cs := im.containers("dex")
	if len(cs) == 0 {
		im.warn("no Dex found in the manifests: the identity provider is not supported yet; the gateway, mesh, KFP and RBAC are recorded")
		im.underived("dex", "no workload runs a Dex image")
		return nil
	}
	c := cs[0]
	var cfgVal value
	found := false
	for _, a := range c.command() {
		if strings.HasSuffix(a, ".yaml") || strings.HasSuffix(a, ".yml") {
			if v, ok := im.file(c, a); ok {
				cfgVal, found = v, true
			}
		}
	}
	if !found {
		// A config not named on the command line: the first ConfigMap or Secret key in Dex's namespace that holds
		// an issuer.
		for _, kind := range []string{"ConfigMap", "Secret"} {
			for _, o := range im.ofKind(kind) {
				if o.ns() != c.owner.ns() {
					continue
				}
				for k, v := range im.data(kind, o.ns(), o.name()) {
					if (strings.HasSuffix(k, ".yaml") || strings.HasSuffix(k, ".yml")) && strings.Contains(v.v, "issuer:") && !found {
						cfgVal, found = v, true
					}
				}
			}
		}
	}
	d := &profile.Dex{Version: c.tag()}
	p.Dex = d
	im.set("dex.version", d.Version, c.src())
	if !found {
		im.warn("Dex runs (%s) but its config file was not found in the manifests", c.owner.name())
		im.underived("dex.*", "Dex's config.yaml is not in the manifests")
		return nil
	}
	var cfg dexConfig
	if err := yaml.Unmarshal([]byte(cfgVal.v), &cfg); err != nil {
		im.warn("Dex's config (%s) is not YAML: %v", cfgVal.src, err)
		return nil
	}
	s := cfgVal.src
	sub := func(k string) Source { x := s; x.Key = s.Key + ": " + k; return x }
	st := &dexState{issuer: cfg.Issuer, clients: map[string]resolvedClient{}, src: sub("issuer")}
	d.SkipApprovalScreen = cfg.OAuth2.SkipApprovalScreen
	im.set("dex.skip_approval_screen", d.SkipApprovalScreen, sub("oauth2.skipApprovalScreen"))
	d.AlwaysShowLogin = cfg.OAuth2.AlwaysShowLoginScreen
	im.set("dex.always_show_login", d.AlwaysShowLogin, sub("oauth2.alwaysShowLoginScreen"))
	if len(cfg.OAuth2.ResponseTypes) > 0 {
		d.ResponseTypes = cfg.OAuth2.ResponseTypes
		im.set("dex.response_types", d.ResponseTypes, sub("oauth2.responseTypes"))
	}
	d.IDTokenTTL = profile.Duration{Duration: 24 * time.Hour}
	if cfg.Expiry.IDTokens != "" {
		d.IDTokenTTL = im.duration(cfg.Expiry.IDTokens, "dex.id_token_ttl", sub("expiry.idTokens"))
	} else {
		im.set("dex.id_token_ttl", "24h", Source{Kind: "default", Name: "dex " + d.Version, Key: "expiry.idTokens"})
	}
	rt := cfg.Expiry.RefreshTokens
	if rt.ReuseInterval != "" {
		d.RefreshReuseInterval = im.duration(rt.ReuseInterval, "dex.refresh_reuse_interval", sub("expiry.refreshTokens.reuseInterval"))
	}
	if rt.ValidIfNotUsedFor != "" {
		d.RefreshIdle = im.duration(rt.ValidIfNotUsedFor, "dex.refresh_idle", sub("expiry.refreshTokens.validIfNotUsedFor"))
	}
	if rt.AbsoluteLifetime != "" {
		d.RefreshAbsolute = im.duration(rt.AbsoluteLifetime, "dex.refresh_absolute", sub("expiry.refreshTokens.absoluteLifetime"))
	}
	if cfg.EnablePasswordDB {
		d.Connectors = append(d.Connectors, profile.Connector{ID: "local", Name: "Email", Type: "local"})
		im.set("dex.connectors[local]", "local", sub("enablePasswordDB"))
	}
	for _, cn := range cfg.Connectors {
		d.Connectors = append(d.Connectors, profile.Connector{ID: cn.ID, Name: cn.Name, Type: cn.Type})
		im.set("dex.connectors["+cn.ID+"]", cn.Type, sub("connectors["+cn.ID+"]"))
		if cn.Type == "ldap" {
			d.LDAP = ldapConfig(cn.Config)
			im.set("dex.ldap", "connector "+cn.ID, sub("connectors["+cn.ID+"].config"))
			im.res.Rewrites = append(im.res.Rewrites, "dex.ldap: the LDAP server address is the harness's directory (fixtures/ldap) or KFP_AUTHCHECK_LDAP_URL")
		}
	}
	dexEnv := im.env(c)
	for i, sc := range cfg.StaticClients {
		rc := resolvedClient{id: sc.ID, secret: sc.Secret, redirectURIs: sc.RedirectURIs,
			idSrc: sub(fmt.Sprintf("staticClients[%d].id", i)), secretSrc: sub(fmt.Sprintf("staticClients[%d].secret", i))}
		if sc.IDEnv != "" {
			if v, ok := dexEnv[sc.IDEnv]; ok {
				rc.id, rc.idSrc = v.v, v.src
			} else {
				im.underived(fmt.Sprintf("dex.static_clients[%d].id", i), "idEnv %s is not set from the manifests", sc.IDEnv)
			}
		}
		if sc.SecretEnv != "" {
			if v, ok := dexEnv[sc.SecretEnv]; ok {
				rc.secret, rc.secretSrc = v.v, v.src
			} else {
				im.underived(fmt.Sprintf("dex.static_clients[%d].secret", i), "secretEnv %s is not set from the manifests", sc.SecretEnv)
			}
		}
		st.clients[rc.id] = rc
		if sc.Public {
			d.Clients = append(d.Clients, profile.Client{ID: rc.id, Name: sc.Name, Public: true, RedirectURIs: sc.RedirectURIs})
			im.set("dex.clients["+rc.id+"]", "public", rc.idSrc)
		}
	}
	im.staticUsers = nil
	for i, sp := range cfg.StaticPasswords {
		im.staticUsers = append(im.staticUsers, staticUser{email: sp.Email, username: sp.Username, userID: sp.UserID,
			src: sub(fmt.Sprintf("staticPasswords[%d]", i))})
	}
	return st
}

func ldapConfig(m map[string]any) *profile.LDAP {
	str := func(mm map[string]any, k string) string { s, _ := mm[k].(string); return s }
	l := &profile.LDAP{BindDN: str(m, "bindDN"), BindPW: str(m, "bindPW"), UsernamePrompt: str(m, "usernamePrompt")}
	if us, ok := m["userSearch"].(map[string]any); ok {
		l.UserSearch = profile.LDAPUserSearch{BaseDN: str(us, "baseDN"), Filter: str(us, "filter"), Username: str(us, "username"),
			Scope: str(us, "scope"), IDAttr: str(us, "idAttr"), EmailAttr: str(us, "emailAttr"), NameAttr: str(us, "nameAttr"),
			PreferredUsernameAttr: str(us, "preferredUsernameAttr")}
	}
	if gs, ok := m["groupSearch"].(map[string]any); ok {
		l.GroupSearch = profile.LDAPGroupSearch{BaseDN: str(gs, "baseDN"), Filter: str(gs, "filter"), Scope: str(gs, "scope"), NameAttr: str(gs, "nameAttr")}
		if ums, ok := gs["userMatchers"].([]any); ok {
			for _, u := range ums {
				um, _ := u.(map[string]any)
				l.GroupSearch.UserMatchers = append(l.GroupSearch.UserMatchers, profile.LDAPUserMatcher{UserAttr: str(um, "userAttr"), GroupAttr: str(um, "groupAttr")})
			}
		}
	}
	return l
}

func (im *importer) duration(s, path string, src Source) profile.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		im.warn("%s: %q is not a duration (%v)", src, s, err)
		im.underived(path, "%q is not a duration", s)
		return profile.Duration{}
	}
	im.set(path, s, src)
	return profile.Duration{Duration: d}
}

// ---- the gateway ----

func (im *importer) deriveGateway(p *profile.Profile, dex *dexState) {
	if cs := im.containers("oauth2-proxy"); len(cs) > 0 {
		im.oauth2Proxy(p, cs[0], dex)
	} else if cs := im.containers("oidc-authservice"); len(cs) > 0 {
		im.authservice(p, cs[0], dex)
	} else {
		im.underived("gateway", "neither oauth2-proxy nor oidc-authservice runs in the manifests")
		return
	}
	im.mesh(p, dex)
}

// proxyOptions are oauth2-proxy's options as it reads them: the config file, then OAUTH2_PROXY_* variables, then
// flags (its precedence), keyed by the config file's spelling.
type proxyOptions map[string]optionValue

type optionValue struct {
	v   any
	src Source
}

func (o proxyOptions) str(k, def string) (string, bool) {
	if v, ok := o[k]; ok {
		return fmt.Sprint(v.v), true
	}
	return def, false
}

func (o proxyOptions) list(k string) []string {
	v, ok := o[k]
	if !ok {
		return nil
	}
	switch x := v.v.(type) {
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	case string:
		if x == "" {
			return nil
		}
		return strings.Split(x, ",")
	}
	return nil
}

func (o proxyOptions) boolean(k string, def bool) bool {
	v, ok := o[k]
	if !ok {
		return def
	}
	switch x := v.v.(type) {
	case bool:
		return x
	case string:
		b, err := strconv.ParseBool(x)
		if err == nil {
			return b
		}
	}
	return def
}

func (im *importer) oauth2Proxy(p *profile.Profile, c container, dex *dexState) {
	opts := proxyOptions{}
	args := c.command()
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			f, ok := im.file(c, v)
			if !ok {
				im.warn("oauth2-proxy's --config %s is not mounted from a ConfigMap or Secret in the manifests", v)
				continue
			}
			var m map[string]any
			if _, err := toml.Decode(f.v, &m); err != nil {
				im.warn("oauth2-proxy's config (%s) is not TOML: %v", f.src, err)
				continue
			}
			for k, x := range m {
				s := f.src
				s.Key += ": " + k
				opts[k] = optionValue{v: x, src: s}
			}
		}
	}
	for k, v := range im.env(c) {
		if name, ok := strings.CutPrefix(k, "OAUTH2_PROXY_"); ok {
			opts[strings.ToLower(name)] = optionValue{v: v.v, src: v.src}
		}
	}
	for i, a := range args {
		if !strings.HasPrefix(a, "--") || strings.HasPrefix(a, "--config=") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok {
			v = "true"
		}
		opts[strings.ReplaceAll(k, "-", "_")] = optionValue{v: v, src: c.owner.src(fmt.Sprintf("containers[%s].args[%d]", c.name(), i))}
	}
	def := Source{Kind: "default", Name: "oauth2-proxy " + c.tag()}
	g := &profile.Gateway{Kind: "oauth2-proxy", Version: c.tag(), DetectAJAX: true}
	p.Gateway = g
	im.set("gateway.kind", g.Kind, c.src())
	im.set("gateway.version", g.Version, c.src())
	str := func(path, key, d string) string {
		v, ok := opts.str(key, d)
		if ok {
			im.set(path, v, opts[key].src)
		} else if d != "" {
			s := def
			s.Key = key
			im.set(path, d, s)
		}
		return v
	}
	boolean := func(path, key string, d bool) bool {
		v := opts.boolean(key, d)
		if o, ok := opts[key]; ok {
			im.set(path, v, o.src)
		} else {
			s := def
			s.Key = key
			im.set(path, v, s)
		}
		return v
	}
	g.ProxyPrefix = str("gateway.proxy_prefix", "proxy_prefix", "/oauth2")
	g.StartPath = g.ProxyPrefix + "/start"
	g.CallbackPath = g.ProxyPrefix + "/callback"
	g.RedirectURL = str("gateway.redirect_url", "redirect_url", g.CallbackPath)
	g.ClientID = str("gateway.client_id", "client_id", "")
	g.ClientSecret, _ = opts.str("client_secret", "")
	if o, ok := opts["client_secret"]; ok {
		im.set("gateway.client_secret", "(secret)", o.src)
	}
	g.Scope = str("gateway.scope", "scope", "openid email profile")
	g.Prompt = str("gateway.prompt", "prompt", "")
	g.ApprovalPrompt, _ = opts.str("approval_prompt", "")
	g.CodeChallengeMethod = str("gateway.code_challenge_method", "code_challenge_method", "")
	g.OIDCNonce = !boolean("gateway.oidc_nonce (insecure_oidc_skip_nonce)", "insecure_oidc_skip_nonce", true)
	login := str("gateway.login_path", "login_url", "")
	if strings.HasPrefix(login, "/") {
		g.LoginPath = login
	} else if login != "" {
		g.LoginPath = "/dex/auth"
		im.underived("gateway.login_path", "login_url %q is absolute; the harness routes Dex at /dex/auth (rewrite)", login)
	} else {
		g.LoginPath = "/dex/auth"
		im.underived("gateway.login_path", "oauth2-proxy discovers Dex's authorization endpoint; the harness routes it at /dex/auth")
	}
	g.SkipProviderButton = boolean("gateway.skip_provider_button", "skip_provider_button", false)
	g.APIRoutes = opts.list("api_routes")
	if o, ok := opts["api_routes"]; ok {
		im.set("gateway.api_routes", g.APIRoutes, o.src)
	}
	g.CookieName = str("gateway.cookie_name", "cookie_name", "_oauth2_proxy")
	g.CookieSecure = boolean("gateway.cookie_secure", "cookie_secure", true)
	g.CookieHTTPOnly = boolean("gateway.cookie_httponly", "cookie_httponly", true)
	g.CookieSameSite = str("gateway.cookie_samesite", "cookie_samesite", "")
	g.CookiePath, _ = opts.str("cookie_path", "")
	if g.CookiePath == "/" {
		g.CookiePath = ""
	}
	exp := str("gateway.cookie_expire", "cookie_expire", "168h")
	if d, err := time.ParseDuration(exp); err == nil {
		g.CookieExpire = profile.Duration{Duration: d}
	} else {
		im.underived("gateway.cookie_expire", "%q is not a duration", exp)
	}
	if ref := str("gateway.cookie_refresh", "cookie_refresh", "0s"); ref != "0" {
		if d, err := time.ParseDuration(ref); err == nil {
			g.CookieRefresh = profile.Duration{Duration: d}
		} else {
			im.underived("gateway.cookie_refresh", "%q is not a duration", ref)
		}
	}
	g.WhitelistDomains = opts.list("whitelist_domains")
	g.CSRFPerRequest = boolean("gateway.csrf_per_request", "cookie_csrf_per_request", false)
	g.SetAuthorizationHeader = boolean("gateway.set_authorization_header", "set_authorization_header", false)
	g.SkipJWTBearerTokens = boolean("gateway.skip_jwt_bearer_tokens", "skip_jwt_bearer_tokens", false)
	g.ExtraAudiences = opts.list("oidc_extra_audiences")
	if dn, ok := opts.str("provider_display_name", ""); ok && dn != "Dex" {
		g.ProviderDisplayName = dn
		im.set("gateway.provider_display_name", dn, opts["provider_display_name"].src)
	}
	if iss := opts.list("extra_jwt_issuers"); len(iss) > 0 {
		im.underived("gateway.extra_jwt_issuers", "oauth2-proxy's extra_jwt_issuers %v are not modelled", iss)
	}
	if dex != nil {
		if oi, ok := opts.str("oidc_issuer_url", ""); ok && oi != dex.issuer {
			im.warn("oauth2-proxy's oidc_issuer_url %q is not Dex's issuer %q", oi, dex.issuer)
		}
		if rc, ok := dex.clients[g.ClientID]; ok && rc.secret != g.ClientSecret {
			im.warn("oauth2-proxy's client secret differs from Dex's static client %s", g.ClientID)
		} else if !ok {
			im.warn("oauth2-proxy's client_id %q is not a static client of Dex", g.ClientID)
		}
	}
	// The user ID header and claim: what the mesh copies from Dex's token (Kubeflow), else oauth2-proxy's
	// X-Auth-Request-Email passed as kubeflow-userid (set by the distribution's own filter).
	g.UserIDHeader, g.UserIDClaim = "kubeflow-userid", "email"
	im.set("gateway.userid_header", g.UserIDHeader, Source{Kind: "rule", Name: "the mesh's outputClaimToHeaders for Dex's issuer, else KFP's KUBEFLOW_USERID_HEADER"})
}

func (im *importer) authservice(p *profile.Profile, c container, dex *dexState) {
	env := im.env(c)
	def := Source{Kind: "default", Name: "oidc-authservice " + c.tag()}
	get := func(path, key, d string) string {
		if v, ok := env[key]; ok {
			im.set(path, v.v, v.src)
			return v.v
		}
		s := def
		s.Key = key
		im.set(path, d, s)
		return d
	}
	g := &profile.Gateway{Kind: "oidc-authservice", Version: c.tag(), OmitPrompt: true, SkipProviderButton: true}
	p.Gateway = g
	im.set("gateway.kind", g.Kind, c.src())
	im.set("gateway.version", g.Version, c.src())
	prefix := get("gateway.proxy_prefix", "AUTHSERVICE_URL_PREFIX", "/authservice/")
	g.ProxyPrefix = strings.TrimSuffix(prefix, "/")
	g.CallbackPath = g.ProxyPrefix + "/oidc/callback"
	g.RedirectURL = get("gateway.redirect_url", "REDIRECT_URL", g.CallbackPath)
	g.ClientID = get("gateway.client_id", "CLIENT_ID", "")
	if v, ok := env["CLIENT_SECRET"]; ok {
		g.ClientSecret = v.v
		im.set("gateway.client_secret", "(secret)", v.src)
	}
	scopes := strings.Fields(strings.ReplaceAll(get("gateway.scope", "OIDC_SCOPES", "openid,email"), ",", " "))
	has := false
	for _, s := range scopes {
		has = has || s == "openid"
	}
	if !has {
		scopes = append(scopes, "openid") // authservice adds openid when the list lacks it
	}
	g.Scope = strings.Join(scopes, " ")
	g.LoginPath = get("gateway.login_path", "OIDC_AUTH_URL", "/dex/auth")
	g.UserIDHeader = get("gateway.userid_header", "USERID_HEADER", "kubeflow-userid")
	g.UserIDClaim = get("gateway.userid_claim", "USERID_CLAIM", "email")
	// Program facts of oidc-authservice e236439 (WIRE-FACTS 1.5): no API special case, the session and state
	// cookies' names, a session cookie without HttpOnly or Secure, SameSite Lax, 24h.
	g.CookieName, g.CSRFCookieName = "authservice_session", "oidc_state_csrf"
	g.CookieSameSite, g.CookieExpire = "lax", profile.Duration{Duration: 24 * time.Hour}
	for _, f := range [][2]string{{"gateway.cookie_name", g.CookieName}, {"gateway.csrf_cookie_name", g.CSRFCookieName},
		{"gateway.cookie_secure", "false"}, {"gateway.cookie_httponly", "false"}, {"gateway.cookie_samesite", g.CookieSameSite},
		{"gateway.cookie_expire", "24h"}, {"gateway.omit_prompt", "true"}, {"gateway.detect_ajax", "false"},
		{"gateway.skip_provider_button", "true"}} {
		im.set(f[0], f[1], def)
	}
	if dex != nil {
		if v, ok := env["OIDC_PROVIDER"]; ok && v.v != dex.issuer {
			im.warn("oidc-authservice's OIDC_PROVIDER %q is not Dex's issuer %q", v.v, dex.issuer)
		}
	}
	for _, o := range im.ofKind("EnvoyFilter") {
		if strings.Contains(fmt.Sprint(o.u.Object["spec"]), "ext_authz") {
			im.set("gateway (ext-authz)", "EnvoyFilter", o.src("spec.configPatches"))
		}
	}
	im.underived("gateway.bearer", "oidc-authservice also accepts Authorization: Bearer with a Dex ID token or a ServiceAccount token (TokenReview); not modelled")
}

// mesh reads the Istio objects that decide identity at the ingress gateway: the CUSTOM ext-authz policy's
// exemptions and the RequestAuthentications' rules.
func (im *importer) mesh(p *profile.Profile, dex *dexState) {
	g := p.Gateway
	var m profile.Mesh
	custom := false
	for _, o := range im.ofKind("AuthorizationPolicy") {
		action, _, _ := unstructured.NestedString(o.u.Object, "spec", "action")
		if action != "CUSTOM" {
			continue
		}
		custom = true
		rules, _, _ := unstructured.NestedSlice(o.u.Object, "spec", "rules")
		seen := map[string]bool{}
		for _, r := range rules {
			to, _, _ := unstructured.NestedSlice(r.(map[string]any), "to")
			for _, t := range to {
				nps, _, _ := unstructured.NestedStringSlice(t.(map[string]any), "operation", "notPaths")
				for _, np := range nps {
					pre := strings.TrimRight(np, "*")
					if !seen[pre] {
						seen[pre] = true
						m.ExemptPrefixes = append(m.ExemptPrefixes, pre)
					}
				}
			}
		}
		im.set("gateway.mesh.exempt_prefixes", m.ExemptPrefixes, o.src("spec.rules[].to[].operation.notPaths"))
	}
	for _, o := range im.ofKind("RequestAuthentication") {
		rules, _, _ := unstructured.NestedSlice(o.u.Object, "spec", "jwtRules")
		for i, r := range rules {
			rm := r.(map[string]any)
			iss, _ := rm["issuer"].(string)
			if aud, ok := rm["audiences"].([]any); ok && len(aud) > 0 {
				im.underived(fmt.Sprintf("gateway.mesh.jwt_rules[%s].audiences", iss), "audiences %v are not modelled (the harness accepts any audience)", aud)
			}
			rule := profile.JWTRule{Issuer: iss}
			if dex != nil && iss == dex.issuer {
				rule.Issuer = profile.DexIssuer
			}
			cths, _ := rm["outputClaimToHeaders"].([]any)
			for _, ch := range cths {
				chm, _ := ch.(map[string]any)
				h, _ := chm["header"].(string)
				cl, _ := chm["claim"].(string)
				rule.ClaimToHeaders = append(rule.ClaimToHeaders, profile.ClaimToHeader{Header: h, Claim: cl})
				if rule.Issuer == profile.DexIssuer && h == "kubeflow-userid" {
					g.UserIDClaim = cl
				}
			}
			m.JWTRules = append(m.JWTRules, rule)
			im.set(fmt.Sprintf("gateway.mesh.jwt_rules[%d]", len(m.JWTRules)-1), iss, o.src(fmt.Sprintf("spec.jwtRules[%d]", i)))
		}
	}
	if custom && g.Kind == "oauth2-proxy" {
		g.Mesh = &m
	}
}

// ---- KFP ----

// grpcGatewayV2 is the first KFP release whose REST errors are grpc-gateway v2 bodies.
var grpcGatewayV2 = version.MustParseGeneric("2.14.0")

func (im *importer) deriveKFP(p *profile.Profile) {
	k := &p.KFP
	cs := im.containers("api-server", "apiserver")
	var api *container
	for i := range cs {
		if img := cs[i].image(); strings.Contains(img, "pipeline") || strings.Contains(img, "kfp") || cs[i].owner.name() == "ml-pipeline" {
			api = &cs[i]
			break
		}
	}
	if api == nil {
		im.underived("kfp", "no KFP API server (ml-pipeline) in the manifests")
		return
	}
	k.Version = strings.TrimPrefix(api.tag(), "v")
	im.set("kfp.version", k.Version, api.src())
	k.ErrorFormat = "grpc-gateway-v1"
	if v, err := version.ParseGeneric(k.Version); err == nil && v.AtLeast(grpcGatewayV2) {
		k.ErrorFormat = "grpc-gateway-v2"
	} else if err != nil {
		im.underived("kfp.error_format", "version %q does not parse; grpc-gateway-v1 assumed", k.Version)
	}
	im.set("kfp.error_format", k.ErrorFormat, Source{Kind: "rule", Name: "KFP 2.14+ answers grpc-gateway v2 error bodies"})
	env := im.env(*api)
	if v, ok := env["MULTIUSER"]; ok {
		p.MultiUser = v.v == "true"
		im.set("multi_user", p.MultiUser, v.src)
	} else {
		im.underived("multi_user", "ml-pipeline sets no MULTIUSER: single-user")
	}
	k.UserIDHeader = "kubeflow-userid"
	if v, ok := env["KUBEFLOW_USERID_HEADER"]; ok {
		k.UserIDHeader = v.v
		im.set("kfp.userid_header", v.v, v.src)
	}
	if v, ok := env["KUBEFLOW_USERID_PREFIX"]; ok {
		k.UserIDPrefix = v.v
		im.set("kfp.userid_prefix", v.v, v.src)
	} else {
		k.UserIDPrefix = "accounts.google.com:"
		im.set("kfp.userid_prefix", k.UserIDPrefix, Source{Kind: "default", Name: "KFP " + k.Version, Key: "KUBEFLOW_USERID_PREFIX"})
	}
	if p.Gateway != nil && p.Gateway.Kind == "oauth2-proxy" {
		p.Gateway.UserIDHeader = k.UserIDHeader
	}
	im.underived("kfp.authorize_pipeline_references", "not in the manifests: false (no KFP release the importer knows authorizes a run's pipeline reference, GHSA-v83x-544f-ph2r)")
	im.underived("kfp.authorize_service_accounts", "not in the manifests: false (no KFP release the importer knows checks a run's serviceAccountName, pipelines PR#14181)")
	// ml-pipeline-ui's AuthorizationPolicy as in-cluster callers meet it.
	if o, ok := im.find("AuthorizationPolicy", "", "ml-pipeline-ui"); ok {
		rules, _, _ := unstructured.NestedSlice(o.u.Object, "spec", "rules")
		policy := "gateway-only"
		for _, r := range rules {
			when, _, _ := unstructured.NestedSlice(r.(map[string]any), "when")
			auth, noUser := false, false
			for _, w := range when {
				wm := w.(map[string]any)
				key, _ := wm["key"].(string)
				if key == "request.headers[authorization]" && wm["values"] != nil {
					auth = true
				}
				if key == "request.headers["+k.UserIDHeader+"]" && wm["notValues"] != nil {
					noUser = true
				}
			}
			if auth && noUser {
				policy = "authorization-without-userid"
			}
			if _, hasFrom := r.(map[string]any)["from"]; !hasFrom && len(when) == 0 {
				policy = "open"
			}
		}
		if policy == "open" {
			im.underived("kfp.ui_policy", "ml-pipeline-ui's AuthorizationPolicy admits everyone: not modelled")
		} else {
			k.UIPolicy = policy
			im.set("kfp.ui_policy", policy, o.src("spec.rules"))
		}
	} else {
		im.underived("kfp.ui_policy", "no AuthorizationPolicy ml-pipeline-ui")
	}
	if o, ok := im.find("AuthorizationPolicy", "", "ml-pipeline"); ok {
		im.set("kfp (mesh policy)", "ml-pipeline", o.src("spec.rules"))
	}
	// The PodDefault that projects KFP's token.
	for _, o := range im.ofKind("PodDefault") {
		if !strings.Contains(fmt.Sprint(o.u.Object["spec"]), "pipelines.kubeflow.org") {
			continue
		}
		sel, _, _ := unstructured.NestedStringMap(o.u.Object, "spec", "selector", "matchLabels")
		for l := range sel {
			k.PodDefault = &profile.PodDefault{Name: o.name(), Label: l}
			im.set("kfp.pod_default", o.name(), o.src("spec.selector.matchLabels"))
			break
		}
	}
	if k.PodDefault == nil {
		im.underived("kfp.pod_default", "no PodDefault projects a token with audience pipelines.kubeflow.org (none in a default install)")
	}
	for _, o := range im.ofKind("Profile") {
		owner, _, _ := unstructured.NestedString(o.u.Object, "spec", "owner", "name")
		k.Namespaces = append(k.Namespaces, profile.Namespace{Name: o.name(), Owner: owner})
		im.set("kfp.namespaces["+o.name()+"]", owner, o.src("spec.owner.name"))
	}
}

// ---- RBAC and NetworkPolicies as shipped ----

func (im *importer) deriveRBAC() {
	for _, o := range im.ofKind("ClusterRole") {
		if strings.Contains(o.name(), "kubeflow") {
			im.res.ClusterRoles = append(im.res.ClusterRoles, o.name())
		}
	}
	sort.Strings(im.res.ClusterRoles)
}

func (im *importer) deriveNetworkPolicies() {
	for _, o := range im.ofKind("NetworkPolicy") {
		n := o.name()
		if !(strings.Contains(n, "dex") || strings.Contains(n, "oauth2-proxy") || strings.Contains(n, "ml-pipeline") || o.ns() == "auth" || o.ns() == "oauth2-proxy") {
			continue
		}
		var from []string
		ing, _, _ := unstructured.NestedSlice(o.u.Object, "spec", "ingress")
		for _, r := range ing {
			fs, _, _ := unstructured.NestedSlice(r.(map[string]any), "from")
			for _, f := range fs {
				b, _ := yaml.Marshal(f)
				from = append(from, strings.TrimSpace(strings.ReplaceAll(string(b), "\n", " ")))
			}
		}
		im.res.NetworkPolicies = append(im.res.NetworkPolicies, fmt.Sprintf("%s/%s: ingress from %s", o.ns(), n, strings.Join(from, " | ")))
	}
}

// ---- users, capabilities and expectations ----

type staticUser struct {
	email, username, userID string
	src                     Source
}

func (im *importer) deriveUsers(p *profile.Profile) {
	for _, su := range im.staticUsers {
		u := profile.User{Email: su.email, Username: su.username, UserID: su.userID, Password: TestPassword, Connector: "local"}
		for _, n := range p.KFP.Namespaces {
			if n.Owner == su.email {
				u.Namespace = n.Name
				break
			}
		}
		p.Users = append(p.Users, u)
		im.set("users["+su.email+"]", su.email, su.src)
	}
	if len(im.staticUsers) > 0 {
		im.res.Rewrites = append(im.res.Rewrites, "users: the manifests hold bcrypt hashes; each static user logs in with the harness's test password")
	}
}

func (im *importer) deriveCapabilities(p *profile.Profile) {
	add := func(c profile.Capability) { p.Capabilities = append(p.Capabilities, c) }
	if p.Gateway != nil {
		add(profile.CapGateway)
	}
	if p.Dex != nil {
		add(profile.CapDex)
		for _, c := range p.Dex.Connectors {
			if c.Type == "local" && len(p.Users) > 0 {
				add(profile.CapDexLocal)
			}
		}
		for _, c := range p.Dex.Connectors {
			if c.Type == "ldap" {
				im.underived("capabilities (dex-ldap)", "LDAP users are not in the manifests: dex-ldap needs a directory with users")
			}
		}
	}
	if p.Gateway != nil {
		add(profile.CapCookieSession)
		if p.Gateway.CookieSecure && strings.HasPrefix(p.Gateway.CookieName, "__Secure-") {
			p.HTTPS = true
			add(profile.CapHTTPS)
		}
	}
	if len(p.Gateway.M2MIssuers()) > 0 {
		add(profile.CapM2M)
	}
	if p.OOBClientID() == "" && p.Dex != nil {
		for _, c := range p.Dex.Clients {
			for _, r := range c.RedirectURIs {
				if c.Public && r == profile.OOBRedirectURI {
					add(profile.CapOOBClient)
				}
			}
		}
	}
	im.set("capabilities", p.Capabilities, Source{Kind: "rule", Name: "from the gateway, Dex's connectors and users, the mesh's issuers"})
}

// dexApprovalAlways is the first Dex release that shows the approval screen whenever skipApprovalScreen is false;
// before it the screen appears only on approval_prompt=force.
var dexApprovalAlways = version.MustParseGeneric("2.37.0")

func (im *importer) deriveExpect(p *profile.Profile) {
	e := &p.Expect
	rule := func(name string) Source { return Source{Kind: "rule", Name: name} }
	g := p.Gateway
	if g == nil {
		e.Unauthenticated, e.APIUnauthenticatedStatus = "open", 200
		return
	}
	e.APIVersions = []string{"v1beta1", "v2beta1"}
	switch {
	case g.Kind == "oidc-authservice" || g.SkipProviderButton:
		e.Unauthenticated = "redirect"
	default:
		e.Unauthenticated = "sign-in-page"
	}
	e.APIUnauthenticatedStatus = 302
	if g.Kind == "oauth2-proxy" {
		if len(g.APIRoutes) > 0 {
			e.APIUnauthenticatedStatus = 401
		} else if !g.SkipProviderButton {
			e.APIUnauthenticatedStatus = 403
		}
	}
	im.set("expect.unauthenticated", e.Unauthenticated, rule("oidc-authservice and skip_provider_button: 302 to Dex; else the sign-in page"))
	im.set("expect.api_unauthenticated_status", e.APIUnauthenticatedStatus, rule("oauth2-proxy's api_routes answer 401"))
	if p.Dex != nil && !p.Dex.SkipApprovalScreen {
		forced := g.Kind == "oauth2-proxy" && g.Prompt == "" && (g.ApprovalPrompt == "" || g.ApprovalPrompt == "force")
		v, err := version.ParseGeneric(p.Dex.Version)
		e.ApprovalScreen = forced || (err == nil && v.AtLeast(dexApprovalAlways)) || err != nil
	}
	im.set("expect.approval_screen", e.ApprovalScreen, rule("skipApprovalScreen false shows the screen from Dex v2.37.0, before only on approval_prompt=force"))
	// The login chain of a local-connector login, where the local connector is Dex's only one.
	if p.Dex != nil && len(p.Dex.Connectors) == 1 && p.Dex.Connectors[0].Type == "local" {
		var ch []string
		if e.Unauthenticated == "sign-in-page" {
			ch = append(ch, "GET /pipeline/ 403", "GET "+g.StartPath+" 302")
		} else {
			ch = append(ch, "GET /pipeline/ 302")
		}
		ch = append(ch, "GET "+g.LoginPath+" 302", "GET "+g.LoginPath+"/local 302", "GET "+g.LoginPath+"/local/login 200", "POST "+g.LoginPath+"/local/login 303")
		if e.ApprovalScreen {
			ch = append(ch, "GET /dex/approval 200", "POST /dex/approval 303")
		}
		ch = append(ch, "GET "+g.CallbackPath+" 302", "GET /pipeline/ 200")
		e.LoginChain = ch
		im.set("expect.login_chain", len(ch), rule("the hops of a local-connector login"))
	} else {
		im.underived("expect.login_chain", "more than one connector: Dex's connector page; no golden chain")
	}
	e.Verdicts = map[string]string{}
	verdict := func(id, v, why string) {
		e.Verdicts[id] = v
		im.set("expect.verdicts."+id, v, rule(why))
	}
	if p.MultiUser && !p.KFP.AuthorizePipelineReferences {
		verdict("ISO-004", "warn", "KFP before GHSA-v83x-544f-ph2r creates a run from another namespace's pipeline")
	}
	if p.MultiUser && !p.KFP.AuthorizeServiceAccounts {
		verdict("ISO-005", "warn", "KFP before pipelines PR#14181 runs a run's pods as its caller-chosen serviceAccountName")
	}
	if p.MultiUser && p.KFP.PodDefault == nil {
		verdict("SA-007", "fail", "no PodDefault projects KFP's token: a notebook's SDK has no credentials")
	}
	if p.KFP.UIPolicy == "gateway-only" {
		verdict("SA-004", "warn", "ml-pipeline-ui's AuthorizationPolicy admits only the gateway: a pod's token is refused there")
	}
	if g.Kind == "oidc-authservice" {
		verdict("OAUTH2P-001", "warn", "oidc-authservice has no API special case: 302 to Dex")
		verdict("OAUTH2P-006", "n/a", "oidc-authservice has no start endpoint that takes rd")
	}
	if !g.CookieHTTPOnly {
		verdict("OAUTH2P-007", "fail", "the session cookie is not HttpOnly")
	} else if g.Kind == "oauth2-proxy" && g.CookieSameSite == "" {
		verdict("OAUTH2P-007", "warn", "no cookie_samesite: the session cookie has no SameSite attribute")
	}
	if e.ApprovalScreen {
		verdict("DEX-LOCAL-004", "warn", "the approval screen shows")
	}
	if len(e.Verdicts) == 0 {
		e.Verdicts = nil
	}
}
