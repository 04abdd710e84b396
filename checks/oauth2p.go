package checks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	dexapi "github.com/dexidp/dex/api/v2"
	"github.com/go-jose/go-jose/v4"

	"github.com/kfp-authcheck/kfp-authcheck/auth/oob"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// Bearer checks need the gateway and a Dex ID token from the OOB client.
var oauth2pBearerNeeds = []target.Capability{target.CapGateway, target.CapDex, target.CapDexLocal, target.CapOOBClient}

func init() {
	for _, c := range []*Check{
		{ID: "OAUTH2P-003", Title: "a bearer ID token whose aud is an extra audience is accepted; an unlisted aud gets 401",
			References: []string{"oauth2-proxy#1032", "oauth2-proxy#773", "deployKF oauth2-proxy cfg"}, Run: checkExtraAudience},
		{ID: "OAUTH2P-004", Title: "the ID token passes skip_jwt_bearer_tokens; what the access token gets is recorded",
			References: []string{"oauth2-proxy#1350", "oauth2-proxy#2106"}, Run: checkIDVersusAccessToken},
		{ID: "OAUTH2P-005", Title: "a kubeflow-pipelines-sdk token works on /pipeline and is refused on the dashboard and other paths",
			References: []string{"deployKF PR#45", "EnvoyFilter jwt_authn requirement_map"}, Run: checkAudiencePathScope},
	} {
		c.Family = "OAUTH2P"
		c.Severity = Must
		c.Needs = append([]target.Capability{}, oauth2pBearerNeeds...)
		register(c)
	}
}

// bearerGet GETs path on the gateway with token as Bearer and returns the status and a short body.
func (e *Env) bearerGet(ctx context.Context, rawURL, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.HTTPClient().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

// experimentsURL is the v2beta1 experiments list of the first local user's namespace, through the gateway.
func (e *Env) experimentsURL() string {
	u, _ := e.FirstUser("local")
	return e.Target.PipelineURL + "/apis/v2beta1/experiments?" + url.Values{"namespace": {u.Namespace}}.Encode()
}

// checkExtraAudience is OAUTH2P-003.
func checkExtraAudience(ctx context.Context, env *Env) result.Result {
	_, tok, a, err := env.oobLogin(ctx)
	if err != nil {
		return withEvidence(oobFail("OOB login", err), a)
	}
	status, _, err := env.bearerGet(ctx, env.experimentsURL(), tok.IDToken)
	if err != nil {
		return failFromError("GET experiments with the OOB ID token", err)
	}
	if status != http.StatusOK {
		return expecting(fail(result.Audience, "the gateway refused an ID token with aud %s", env.Target.OOBClientID),
			"200", fmt.Sprintf("%d", status))
	}
	if env.Target.DexGRPCAddr == "" {
		return pass("aud %s accepted (no Dex gRPC API to mint a token of an unlisted audience)", env.Target.OOBClientID)
	}
	// A token of the same issuer for a client the gateway does not list.
	probe, cleanup, err := env.probeClient(ctx)
	if err != nil {
		return errorf(result.ConfigError, "create a probe client through Dex's gRPC API: %v", err)
	}
	defer cleanup()
	cfg := env.oobConfig(nil)
	cfg.ClientID = probe
	c, err := oob.Discover(ctx, cfg)
	if err != nil {
		return oobFail("discovery", err)
	}
	pa, err := env.oobAuthorizer()
	if err != nil {
		return errorf(result.ConfigError, "%v", err)
	}
	other, err := c.Login(ctx, pa)
	if err != nil {
		return withEvidence(oobFail("OOB login of the probe client", err), pa)
	}
	env.remember(other)
	status2, body, err := env.bearerGet(ctx, env.experimentsURL(), other.IDToken)
	if err != nil {
		return failFromError("GET experiments with the probe token", err)
	}
	actual := fmt.Sprintf("aud %s: %d; aud %s: %d %s", env.Target.OOBClientID, status, probe, status2, body)
	expected := fmt.Sprintf("aud %s: 200; aud %s: 401", env.Target.OOBClientID, probe)
	if status2 != http.StatusUnauthorized {
		return expecting(fail(result.Audience, "a token of an unlisted audience got %d", status2), expected, actual)
	}
	return expecting(pass("extra audience accepted, an unlisted audience refused with 401"), expected, actual)
}

// probeClient registers a public OOB client the gateway does not know, through Dex's gRPC API; cleanup deletes it.
func (e *Env) probeClient(ctx context.Context) (string, func(), error) {
	dex, closeConn, err := fixtures.DialDex(e.Target.DexGRPCAddr)
	if err != nil {
		return "", nil, err
	}
	id := "kfp-authcheck-probe-" + oob.NewVerifier()[:8]
	if _, err := dex.CreateClient(ctx, &dexapi.CreateClientReq{Client: &dexapi.Client{Id: id, Name: "kfp-authcheck probe",
		Public: true, RedirectUris: []string{oob.RedirectURI}}}); err != nil {
		closeConn()
		return "", nil, err
	}
	return id, func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = dex.DeleteClient(cctx, &dexapi.DeleteClientReq{Id: id})
		closeConn()
	}, nil
}

// checkIDVersusAccessToken is OAUTH2P-004.
func checkIDVersusAccessToken(ctx context.Context, env *Env) result.Result {
	_, tok, a, err := env.oobLogin(ctx)
	if err != nil {
		return withEvidence(oobFail("OOB login", err), a)
	}
	idStatus, _, err := env.bearerGet(ctx, env.experimentsURL(), tok.IDToken)
	if err != nil {
		return failFromError("GET with the ID token", err)
	}
	atStatus, _, err := env.bearerGet(ctx, env.experimentsURL(), tok.AccessToken)
	if err != nil {
		return failFromError("GET with the access token", err)
	}
	actual := fmt.Sprintf("id_token: %d; access_token: %d", idStatus, atStatus)
	if idStatus != http.StatusOK {
		return expecting(fail(result.SessionNotAccepted, "the ID token was refused as a bearer"), "id_token: 200", actual)
	}
	note := "refused"
	if atStatus == http.StatusOK {
		note = "also accepted (Dex's access tokens are JWTs with the same claims)"
	}
	return expecting(pass("the ID token is accepted; the access token is %s", note), "id_token: 200; access_token recorded", actual)
}

// checkAudiencePathScope is OAUTH2P-005.
func checkAudiencePathScope(ctx context.Context, env *Env) result.Result {
	_, tok, a, err := env.oobLogin(ctx)
	if err != nil {
		return withEvidence(oobFail("OOB login", err), a)
	}
	gw := target.Origin(env.Target.GatewayURL)
	var seen []string
	refusedElsewhere := true
	for _, p := range []struct{ name, url string }{
		{"/pipeline API", env.experimentsURL()},
		{"dashboard /", gw + "/"},
		{"/notebook/", gw + "/notebook/" + "x/"},
	} {
		status, body, err := env.bearerGet(ctx, p.url, tok.IDToken)
		if err != nil {
			return failFromError("GET "+p.name, err)
		}
		seen = append(seen, fmt.Sprintf("%s: %d %s", p.name, status, firstLine(env.Target.Redactor, body)))
		if p.name == "/pipeline API" && status != http.StatusOK {
			return expecting(fail(result.Audience, "the SDK token was refused on the pipeline API"), "/pipeline: 200", strings.Join(seen, "; "))
		}
		if p.name != "/pipeline API" && status == http.StatusOK {
			refusedElsewhere = false
		}
	}
	expected := "/pipeline API: 200; dashboard and other paths: refused (401/403/302)"
	if !refusedElsewhere {
		return expecting(fail(result.Audience, "the SDK-audience token is accepted outside /pipeline"), expected, strings.Join(seen, "; "))
	}
	return expecting(pass("the SDK token works on /pipeline only"), expected, strings.Join(seen, "; "))
}

func firstLine(r *redact.Redactor, s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if r == nil {
		r = tokenRedactor
	}
	// Redacted before it is cut: a secret cut in half would no longer be recognised.
	return r.Cut(s, 80)
}

// tokenRedactor knows no secret of a target but every token-shaped string, for a body read where the target's own
// redactor is not at hand.
var tokenRedactor = redact.New()

// forgeToken signs claims like the real token's with a key the issuer never published: a token that looks
// right (iss, aud, email, exp) but did not come from the PKCE login.
func forgeToken(c oob.Claims, issuer string) (string, error) {
	key, err := unknownKey()
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(map[string]any{"iss": issuer, "aud": c.Audience, "email": c.Email, "email_verified": true,
		"sub": "forged", "iat": time.Now().Unix(), "exp": c.Expiry.Unix()})
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithHeader("kid", "forged"))
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}
