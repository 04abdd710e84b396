package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/kfp-authcheck/kfp-authcheck/kfpapi"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// The M2M checks send ServiceAccount tokens minted through TokenRequest with the default audience (what
// `kubectl create token` gives) to the gateway, as Kubeflow 1.9+'s M2M overlays allow.
// Where the gateway accepts them (the m2m capability) the checks expect them to work; where the profile's
// RequestAuthentication names no ServiceAccount issuer (Kubeflow 1.9 to 1.11's default m2m-dex-only) they run too
// and expect what that release gives: the gateway's 401 "Jwt issuer is not configured" for every cluster token
// (DECISIONS: "cluster tokens are refused at the gateway, so the M2M checks expect that").
var m2mNeeds = []target.Capability{target.CapMultiUser, target.CapGateway, target.CapKube}

// m2mApplies is the M2M checks' Applies: the gateway accepts cluster tokens, or the profile says it refuses them.
func m2mApplies(t *target.Target) *Inapplicable {
	if t.Has(target.CapM2M) || m2mRefused(t) {
		return nil
	}
	return &Inapplicable{Reason: result.MissingCapability, Message: fmt.Sprintf("%s does not offer [%s] and its profile has no RequestAuthentication that decides cluster tokens", profileOrTarget(t), target.CapM2M)}
}

func profileOrTarget(t *target.Target) string {
	if n := t.ProfileName(); n != "" {
		return "profile " + n
	}
	return "this target"
}

// m2mRefused reports whether the target's profile has the gateway refuse cluster tokens: the mesh's
// RequestAuthentication has rules (Dex's) and none for a ServiceAccount issuer, as m2m-dex-only ships it.
func m2mRefused(t *target.Target) bool {
	if t.Has(target.CapM2M) || t.Profile == nil || t.Profile.Gateway == nil || t.Profile.Gateway.Mesh == nil {
		return false
	}
	return len(t.Profile.Gateway.Mesh.JWTRules) > 0 && len(t.Profile.Gateway.M2MIssuers()) == 0
}

// issuerNotConfigured reports whether err is the gateway's own 401 for a token of an issuer it has no rule for.
func issuerNotConfigured(err error) bool {
	var ae *kfpapi.APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusUnauthorized && strings.Contains(ae.Body, msgIssuerNotConfigured)
}

// refusedAsShipped is the M2M checks' verdict on a profile whose gateway refuses cluster tokens: every request
// (named in what) must have got the gateway's 401 "Jwt issuer is not configured"; an accepted one is a gateway that
// differs from the release, anything else an unexpected answer.
func refusedAsShipped(want string, whats []string, errs []error) result.Result {
	var seen []string
	for i, err := range errs {
		seen = append(seen, fmt.Sprintf("%s %s", whats[i], statusWithBody(err)))
	}
	actual := strings.Join(seen, "; ")
	for i, err := range errs {
		switch {
		case err == nil:
			return expecting(fail(result.GatewayConfig, "%s was accepted at the gateway, though the profile's RequestAuthentication names no ServiceAccount issuer (m2m-dex-only refuses cluster tokens)", whats[i]), want, actual)
		case !issuerNotConfigured(err):
			return expecting(fail(result.UnexpectedResponse, "%s: %v; m2m-dex-only's gateway answers 401 %q", whats[i], err, msgIssuerNotConfigured), want, actual)
		}
	}
	return expecting(pass("cluster tokens are refused at the gateway with 401 %q, as the release's RequestAuthentication (Dex's issuer only) ships it", msgIssuerNotConfigured), want, actual)
}

// statusWithBody prints a response's status and, for a refusal, the first line of its body.
func statusWithBody(err error) string {
	var ae *kfpapi.APIError
	if errors.As(err, &ae) {
		return fmt.Sprintf("%d %s", ae.StatusCode, firstLine(nil, strings.TrimSpace(ae.Body)))
	}
	return fmt.Sprintf("%d", httpStatus(err))
}

// The ServiceAccount issuers Kubeflow's M2M overlays configure (m2m-dex-and-kind; the second since 1.10), and one
// no gateway configures.
var knownKubeIssuers = []string{"https://kubernetes.default.svc.cluster.local", "https://kubernetes.default.svc"}

const foreignIssuer = "https://kfp-authcheck.invalid/unknown-issuer"

// msgIssuerNotConfigured is Envoy jwt_authn's answer to a token of an issuer without a RequestAuthentication.
const msgIssuerNotConfigured = "Jwt issuer is not configured"

func init() {
	register(&Check{ID: "M2M-001", Family: "M2M", Severity: Must, Needs: m2mNeeds, Applies: m2mApplies,
		Title:      "a `kubectl create token` ServiceAccount token as Bearer at the gateway lists experiments in its namespace (v2beta1 and v1beta1)",
		References: []string{"manifests PR#2544", "manifests#2670", "manifests pipeline_test.yaml"},
		Run:        checkM2MOwnNamespace})
	register(&Check{ID: "M2M-002", Family: "M2M", Severity: Must, Needs: m2mNeeds, Applies: m2mApplies,
		Title:      "the cluster's ServiceAccount issuer is configured at the gateway; the issuer variants are probed",
		References: []string{"pipelines#11025", "manifests#2840", "manifests PR#3079", "manifests#2842", "manifests#2850", "plural#146"},
		Run:        checkM2MIssuers})
	register(&Check{ID: "M2M-004", Family: "M2M", Severity: Must, Needs: m2mNeeds, Applies: m2mApplies,
		Title:      "a valid JWT with forged kubeflow-userid/kubeflow-groups: the identity comes from the token's claims",
		References: []string{"manifests istio-m2m RequestAuthentication", "kubeflow#6702"},
		Run:        checkM2MForgedHeaders})
	register(&Check{ID: "M2M-005", Family: "M2M", Severity: Must, Needs: m2mNeeds, Applies: m2mApplies, Exclusive: true,
		Title:      "an invalid, forged or expired bearer at the gateway gets 401, never a login page or redirect",
		References: []string{"manifests PR#2864"},
		Run:        checkM2MInvalidBearer})
}

// gateway is a KFP client for the pipeline URL that sends token as Bearer, plus any extra headers.
func (e *Env) gateway(token string, extra http.Header) *kfpapi.Client {
	h := http.Header{"Authorization": {"Bearer " + token}}
	for k, v := range extra {
		h[k] = v
	}
	return &kfpapi.Client{BaseURL: e.Target.PipelineURL, HTTP: e.HTTPClient(), Header: h}
}

// gatewayRefusal classifies a refused M2M request; an issuer the gateway does not know is a gateway
// configuration problem (the M2M overlay's RequestAuthentication is missing or names another issuer).
func gatewayRefusal(what string, err error, iss string) result.Result {
	var ae *kfpapi.APIError
	if errors.As(err, &ae) && strings.Contains(ae.Body, msgIssuerNotConfigured) {
		return fail(result.GatewayConfig, "%s: the gateway answered %d %q: the cluster's ServiceAccount issuer %s has no RequestAuthentication rule (m2m-dex-only, or the overlay names another issuer)",
			what, ae.StatusCode, msgIssuerNotConfigured, iss)
	}
	return failFromError(what, err)
}

// unverifiedIssuer reads a token's iss for reporting (the cluster signed it; nothing is decided on it).
func unverifiedIssuer(tok string) string {
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.ES384, jose.ES512, jose.PS256})
	if err != nil {
		return "(unreadable)"
	}
	var c jwt.Claims
	if err := parsed.UnsafeClaimsWithoutVerification(&c); err != nil {
		return "(unreadable)"
	}
	return c.Issuer
}

// checkM2MOwnNamespace is M2M-001: default-editor's default-audience token through the gateway lists
// experiments in its own namespace with both REST versions (kfp 2.x and 1.8 with existing_token).
func checkM2MOwnNamespace(ctx context.Context, env *Env) result.Result {
	return withEditorToken(ctx, env, nil, time.Hour, func(f *saFixture, tok string) result.Result {
		c := env.gateway(tok, nil)
		_, v2err := c.ListExperiments(ctx, f.ns1)
		_, v1err := c.ListExperimentsV1(ctx, f.ns1)
		if r, bad := transportTrouble("gateway", v2err, v1err); bad {
			return r
		}
		if m2mRefused(env.Target) {
			return refusedAsShipped(fmt.Sprintf("v2beta1 list 401 %s, v1beta1 list 401 %[1]s (m2m-dex-only)", msgIssuerNotConfigured),
				[]string{"v2beta1 list", "v1beta1 list"}, []error{v2err, v1err})
		}
		actual := fmt.Sprintf("v2beta1 list %d, v1beta1 list %d", httpStatus(v2err), httpStatus(v1err))
		const want = "v2beta1 list 200, v1beta1 list 200"
		if err := errors.Join(v2err, v1err); err != nil {
			return expecting(gatewayRefusal("default-editor's token at the gateway", err, unverifiedIssuer(tok)), want, actual)
		}
		return expecting(pass("the ServiceAccount token lists experiments in %s through the gateway", f.ns1), want, actual)
	})
}

// checkM2MIssuers is M2M-002. The cluster's own token must pass the gateway. Then each issuer variant is probed
// with a token of that issuer signed by a key nobody published: the gateway refuses them all, and its answer says
// whether it has a rule for the issuer ("Jwt issuer is not configured") or verified and refused the signature.
// This needs no key of any issuer, so it runs the same against a live cluster.
func checkM2MIssuers(ctx context.Context, env *Env) result.Result {
	return withEditorToken(ctx, env, nil, time.Hour, func(f *saFixture, tok string) result.Result {
		iss := unverifiedIssuer(tok)
		want := fmt.Sprintf("the cluster's token (%s) 200; %s not configured", iss, foreignIssuer)
		if t := env.Target; t.Profile != nil && t.Profile.Gateway != nil {
			want += fmt.Sprintf("; the profile's issuers %v configured", t.Profile.Gateway.M2MIssuers())
		}
		refused := m2mRefused(env.Target)
		if refused {
			want = fmt.Sprintf("the cluster's token (%s) 401 %q; no ServiceAccount issuer configured (m2m-dex-only); %s not configured", iss, msgIssuerNotConfigured, foreignIssuer)
		}
		_, lerr := env.gateway(tok, nil).ListExperiments(ctx, f.ns1)
		if r, bad := transportTrouble("gateway", lerr); bad {
			return r
		}
		seen := []string{fmt.Sprintf("cluster token (%s) 200", iss)}
		switch {
		case refused:
			if r := refusedAsShipped(want, []string{"the cluster's token"}, []error{lerr}); r.Status != result.Pass {
				return r
			}
			seen = []string{fmt.Sprintf("cluster token (%s) %s", iss, statusWithBody(lerr))}
		case lerr != nil:
			return expecting(gatewayRefusal("the cluster's ServiceAccount token at the gateway", lerr, iss), want, fmt.Sprintf("%d", httpStatus(lerr)))
		}
		variants := []string{iss}
		for _, v := range append(append([]string{}, knownKubeIssuers...), foreignIssuer) {
			if !slices.Contains(variants, v) {
				variants = append(variants, v)
			}
		}
		configured := map[string]bool{}
		for _, v := range variants {
			probe, err := signWithUnknownKey(tok, map[string]any{"iss": v})
			if err != nil {
				return errorf(result.Internal, "sign a probe token: %v", err)
			}
			env.Target.Redactor.Add(probe)
			status, body, err := rawGet(ctx, env, env.Target.PipelineURL+"/apis/v2beta1/experiments?namespace="+f.ns1,
				http.Header{"Authorization": {"Bearer " + probe}})
			if err != nil {
				return errorf(reasonOf(err), "probe issuer %s: %v", v, err)
			}
			body = redactedLine(env, body)
			switch {
			case status == http.StatusOK:
				return expecting(fail(result.Unsecured, "a token of issuer %s signed by an unknown key was accepted", v), want, strings.Join(seen, "; "))
			case body == msgIssuerNotConfigured:
				seen = append(seen, v+": not configured")
			default:
				configured[v] = true
				seen = append(seen, fmt.Sprintf("%s: configured (forged signature refused: %d %s)", v, status, body))
			}
		}
		actual := strings.Join(seen, "; ")
		if configured[foreignIssuer] {
			return expecting(warn(result.UnexpectedResponse, "the gateway does not say \"%s\" for an issuer it cannot know, so a missing issuer cannot be told from a refused signature", msgIssuerNotConfigured), want, actual)
		}
		if refused {
			for _, v := range variants {
				if v != foreignIssuer && configured[v] {
					return expecting(fail(result.GatewayConfig, "the gateway has a rule for the ServiceAccount issuer %s, though the profile's RequestAuthentication names none (m2m-dex-only)", v), want, actual)
				}
			}
			return expecting(pass("no ServiceAccount issuer is configured at the gateway, as m2m-dex-only ships it: the cluster's token gets 401 %q", msgIssuerNotConfigured), want, actual)
		}
		if t := env.Target; t.Profile != nil && t.Profile.Gateway != nil {
			for _, v := range t.Profile.Gateway.M2MIssuers() {
				if !configured[v] {
					return expecting(warn(result.GatewayConfig, "the profile's issuer %s is not configured at the gateway", v), want, actual)
				}
			}
		}
		return expecting(pass("the cluster's issuer %s is accepted at the gateway", iss), want, actual)
	})
}

// checkM2MForgedHeaders is M2M-004, by behaviour: ns2's default-editor, which may not touch ns1, claims through
// the headers to be ns1's owner (and in system:masters). If the gateway let the headers through, KFP would
// authorize the owner; overwritten, it refuses the ServiceAccount. A control shows the claims do carry identity:
// ns1's own default-editor with a forged stranger's identity still lists ns1.
func checkM2MForgedHeaders(ctx context.Context, env *Env) result.Result {
	f, err := sharedSAFixture(ctx, env)
	if err != nil {
		return fixtureError(err)
	}
	defer f.cleanup()
	outsider, err1 := f.token(ctx, f.ns2, "default-editor", nil, time.Hour)
	insider, err2 := f.token(ctx, f.ns1, "default-editor", nil, time.Hour)
	if err := errors.Join(err1, err2); err != nil {
		return fixtureError(err)
	}
	userHeader := http.CanonicalHeaderKey(userIDHeader(env.Target))
	forgeOwner := http.Header{userHeader: {fixtureOwner}, "Kubeflow-Groups": {"system:masters"}}
	forgeStranger := http.Header{userHeader: {"nobody@example.invalid"}, "Kubeflow-Groups": {"nobody"}}
	_, ownerErr := env.gateway(outsider, forgeOwner).ListExperiments(ctx, f.ns1)
	_, controlErr := env.gateway(insider, forgeStranger).ListExperiments(ctx, f.ns1)
	if r, bad := transportTrouble("gateway", ownerErr, controlErr); bad {
		return r
	}
	if m2mRefused(env.Target) {
		// The tokens are refused before any header could reach KFP: forged headers get nowhere either.
		return refusedAsShipped(fmt.Sprintf("401 %s for both (m2m-dex-only: the forged headers never reach KFP)", msgIssuerNotConfigured),
			[]string{f.ns2 + "'s token as the owner", f.ns1 + "'s token as a stranger"}, []error{ownerErr, controlErr})
	}
	sa := "system:serviceaccount:" + f.ns2 + ":default-editor"
	actual := fmt.Sprintf("%s's token as the owner: %d; %s's token as a stranger: %d", f.ns2, httpStatus(ownerErr), f.ns1, httpStatus(controlErr))
	want := fmt.Sprintf("403 naming %s; 200", sa)
	var ae *kfpapi.APIError
	switch {
	case ownerErr == nil:
		return expecting(fail(result.Unsecured, "the forged %s was trusted: %s's ServiceAccount listed %s as its owner", userHeader, f.ns2, f.ns1), want, actual)
	case !errors.As(ownerErr, &ae):
		return expecting(failFromError("the forged headers", ownerErr), want, actual)
	case ae.StatusCode == http.StatusConflict && strings.Contains(ae.Message+ae.Body, "unexpected number of"):
		// The gateway appended the claim to the client's header; KFP refuses the ambiguity instead of choosing.
		actual += " (the claim was appended to the forged header; KFP refused two identities)"
	case ae.StatusCode != http.StatusForbidden || !strings.Contains(ae.Message+ae.Body, sa):
		return expecting(failFromError("the forged headers", ownerErr), want, actual)
	}
	if controlErr != nil {
		return expecting(gatewayRefusal("ns1's own token with a forged stranger's identity", controlErr, unverifiedIssuer(insider)), want, actual)
	}
	return expecting(pass("the identity comes from the token's sub, not from the forged headers"), want, actual)
}

// userIDHeader is the identity header the target's KFP trusts.
func userIDHeader(t *target.Target) string {
	if t.Profile != nil && t.Profile.KFP.UserIDHeader != "" {
		return t.Profile.KFP.UserIDHeader
	}
	return "kubeflow-userid"
}

// checkM2MInvalidBearer is M2M-005: bearers the gateway must refuse with 401 itself (no sign-in page, no
// redirect to Dex): not a JWT, the signature altered, a valid-looking token signed by an unknown key, and an
// expired one (the cluster's own token after the clock moved past it where the tier can move the clock, else a
// token with a past exp, which Envoy refuses on time before it checks the signature).
func checkM2MInvalidBearer(ctx context.Context, env *Env) result.Result {
	return withEditorToken(ctx, env, nil, 10*time.Minute, func(f *saFixture, tok string) result.Result {
		forged, err1 := signWithUnknownKey(tok, nil)
		past := time.Now().Add(-2 * time.Hour).Unix()
		expired, err2 := signWithUnknownKey(tok, map[string]any{"iat": past - 600, "nbf": past - 600, "exp": past})
		if err := errors.Join(err1, err2); err != nil {
			return errorf(result.Internal, "forge a token: %v", err)
		}
		altered := alterSignature(tok)
		for _, s := range []string{forged, expired, altered} {
			env.Target.Redactor.Add(s)
		}
		url := env.Target.PipelineURL + "/apis/v2beta1/experiments?namespace=" + f.ns1
		probes := []struct{ what, token string }{
			{"a bearer that is not a JWT", "not-a-jwt"},
			{"the altered token", altered},
			{"a token signed by an unknown key", forged},
		}
		var seen []string
		const want = "401 from the gateway for each, no HTML, no redirect"
		// refused sends one bearer and returns a failed result unless the gateway itself refused it with 401.
		refused := func(what, token string) (result.Result, bool) {
			status, h, body, err := rawGetHeaders(ctx, env, url, http.Header{"Authorization": {"Bearer " + token}})
			if err != nil {
				return errorf(reasonOf(err), "%s: %v", what, err), false
			}
			// Redact before cutting: a cut token is no longer recognisable, and its first 80 characters still leak.
			seen = append(seen, fmt.Sprintf("%s: %d %s", what, status, redactedLine(env, body)))
			actual := strings.Join(seen, "; ")
			switch {
			case status == http.StatusOK:
				return expecting(fail(result.InvalidCredentials, "%s was accepted", what), want, actual), false
			case status >= 300 && status < 400:
				return expecting(fail(result.GatewayConfig, "%s was redirected to %s instead of refused", what, h.Get("Location")), want, actual), false
			case strings.Contains(h.Get("Content-Type"), "html"):
				return expecting(fail(result.GatewayConfig, "%s got an HTML page (%d), not an API refusal", what, status), want, actual), false
			case status != http.StatusUnauthorized:
				return expecting(fail(result.UnexpectedResponse, "%s got %d, not 401", what, status), want, actual), false
			}
			return result.Result{}, true
		}
		for _, p := range probes {
			if r, ok := refused(p.what, p.token); !ok {
				return r
			}
		}
		expiredWhat := "a token with a past exp"
		// Where the gateway refuses cluster tokens (m2m-dex-only) the fresh token cannot show the expiry: the
		// token with a past exp stands in.
		if env.Target.Clock != nil && !m2mRefused(env.Target) {
			if _, err := env.gateway(tok, nil).ListExperiments(ctx, f.ns1); err != nil {
				return gatewayRefusal("the fresh token", err, unverifiedIssuer(tok))
			}
			env.Target.Clock.Advance(11*time.Minute + time.Second)
			expired, expiredWhat = tok, "the cluster's token after its expiry"
		}
		if r, ok := refused(expiredWhat, expired); !ok {
			return r
		}
		// A Dex JWT sent by the client is not tried here: a Kubeflow profile without a public OOB client gives the
		// client no Dex token outside the cookie session (whose injected Dex JWT passes the same rule on every
		// cookie request, DEX-LOCAL-006).
		return expecting(pass("every invalid bearer is refused with 401 by the gateway"), want, strings.Join(seen, "; "))
	})
}

// redactedLine is the first line of a body for evidence, at most 80 characters, redacted before it is cut.
func redactedLine(env *Env, body string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(body), "\n")
	return env.Target.Redactor.Cut(line, 80)
}
