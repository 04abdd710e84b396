package istiogateway

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const (
	kubeIssuer = "https://kubernetes.default.svc.cluster.local"
	dexIssuer  = "http://dex.auth.svc.cluster.local:5556/dex"
)

type harness struct {
	t         *testing.T
	key       *rsa.PrivateKey
	now       time.Time
	handler   http.Handler
	extAuthzN int
	seen      http.Header // the headers routes got
}

func newHarness(t *testing.T, audiences []string) *harness {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, key: key, now: time.Unix(1_800_000_000, 0)}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "kid-1", Algorithm: "RS256", Use: "sig"}}})
	}))
	t.Cleanup(jwks.Close)
	userAndGroups := func(userClaim string) []ClaimToHeader {
		return []ClaimToHeader{{Header: "kubeflow-userid", Claim: userClaim}, {Header: "kubeflow-groups", Claim: "groups"}}
	}
	g, err := New(Config{
		Rules: []JWTRule{
			{Issuer: dexIssuer, JWKSURI: jwks.URL, OutputClaimToHeaders: userAndGroups("email")},
			{Issuer: kubeIssuer, JWKSURI: jwks.URL, Audiences: audiences, OutputClaimToHeaders: userAndGroups("sub")},
		},
		ExemptPrefixes: []string{"/dex/", "/oauth2/"},
		HTTPClient:     &http.Client{Timeout: 5 * time.Second},
		Now:            func() time.Time { return h.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	extAuthz := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.extAuthzN++
			w.WriteHeader(http.StatusUnauthorized) // oauth2-proxy without a session on an API path
			_, _ = w.Write([]byte("{}"))
		})
	}
	routes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.seen = r.Header.Clone()
		_, _ = w.Write([]byte("upstream"))
	})
	h.handler = g.Handler(extAuthz, routes)
	return h
}

func (h *harness) sign(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	h.t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

func (h *harness) saClaims() map[string]any {
	return map[string]any{"iss": kubeIssuer, "sub": "system:serviceaccount:ns-2:default-editor",
		"aud": []string{kubeIssuer}, "iat": h.now.Unix(), "nbf": h.now.Unix(), "exp": h.now.Add(time.Hour).Unix()}
}

func (h *harness) do(path string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "http://gw.example"+path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	h.seen = nil
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return rec
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func TestRefusalsAreEnvoysLocalReplies(t *testing.T) {
	h := newHarness(t, nil)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	expired := h.saClaims()
	expired["exp"] = h.now.Add(-2 * time.Minute).Unix()
	future := h.saClaims()
	future["nbf"] = h.now.Add(5 * time.Minute).Unix()
	foreign := h.saClaims()
	foreign["iss"] = "https://oidc.eks.example/id/123"
	for _, tc := range []struct {
		name, token, body string
	}{
		{"unknown issuer", h.sign(h.key, "kid-1", foreign), "Jwt issuer is not configured"},
		{"signed by another key with the same kid", h.sign(other, "kid-1", h.saClaims()), "Jwt verification fails"},
		{"a kid the JWKS does not have", h.sign(h.key, "kid-2", h.saClaims()), "Jwks doesn't have key to match kid or alg from Jwt"},
		{"expired beyond the clock skew", h.sign(h.key, "kid-1", expired), "Jwt is expired"},
		{"not yet valid", h.sign(h.key, "kid-1", future), "Jwt not yet valid"},
		{"not a JWT", "not-a-jwt", "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("x")) + ".e30.c2ln", "Jwt header is an invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.do("/pipeline/apis/v2beta1/experiments", bearer(tc.token))
			if rec.Code != http.StatusUnauthorized || rec.Body.String() != tc.body {
				t.Fatalf("got %d %q, want 401 %q", rec.Code, rec.Body.String(), tc.body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/plain" {
				t.Fatalf("content-type %q", ct)
			}
			want := `Bearer realm="http://gw.example/pipeline/apis/v2beta1/experiments", error="invalid_token"`
			if got := rec.Header().Get("WWW-Authenticate"); got != want {
				t.Fatalf("www-authenticate %q, want %q", got, want)
			}
			if h.seen != nil || h.extAuthzN != 0 {
				t.Fatal("a refused token reached upstream or ext-authz")
			}
		})
	}
}

func TestExpiryHasOneMinuteOfSkew(t *testing.T) {
	h := newHarness(t, nil)
	c := h.saClaims()
	c["exp"] = h.now.Add(-30 * time.Second).Unix()
	if rec := h.do("/pipeline/", bearer(h.sign(h.key, "kid-1", c))); rec.Code != http.StatusOK {
		t.Fatalf("30 s past exp: got %d %s, want 200 (60 s clock skew)", rec.Code, rec.Body)
	}
}

func TestServiceAccountTokenSkipsExtAuthzAndOverwritesForgedHeaders(t *testing.T) {
	h := newHarness(t, nil)
	hdr := bearer(h.sign(h.key, "kid-1", h.saClaims()))
	hdr.Set("kubeflow-userid", "user@example.com")
	rec := h.do("/pipeline/apis/v2beta1/experiments", hdr)
	if rec.Code != http.StatusOK {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	if h.extAuthzN != 0 {
		t.Fatal("a request with Authorization went to ext-authz")
	}
	if got := h.seen.Values("Kubeflow-Userid"); len(got) != 1 || got[0] != "system:serviceaccount:ns-2:default-editor" {
		t.Fatalf("kubeflow-userid %q: the forged value must be replaced by sub", got)
	}
	if h.seen.Get("Authorization") == "" {
		t.Fatal("forwardOriginalToken: the token must reach upstream")
	}
}

func TestDexTokenGivesEmailAndGroups(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.sign(h.key, "kid-1", map[string]any{"iss": dexIssuer, "sub": "Cg4xNTg0MTE4NTY0MTc4NBIFbG9jYWw",
		"aud": "kubeflow-oidc-authservice", "email": "user@example.com", "groups": []string{"a", "b"},
		"exp": h.now.Add(time.Hour).Unix()})
	hdr := bearer(tok)
	hdr.Set("kubeflow-groups", "system:masters")
	if rec := h.do("/pipeline/", hdr); rec.Code != http.StatusOK {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	if got := h.seen.Get("Kubeflow-Userid"); got != "user@example.com" {
		t.Fatalf("kubeflow-userid %q", got)
	}
	if got, want := h.seen.Get("Kubeflow-Groups"), base64.StdEncoding.EncodeToString([]byte(`["a","b"]`)); got != want {
		t.Fatalf("kubeflow-groups %q, want %q (a list claim as base64 JSON)", got, want)
	}
}

func TestNoAuthorizationGoesToExtAuthz(t *testing.T) {
	h := newHarness(t, nil)
	rec := h.do("/pipeline/apis/v2beta1/experiments", nil)
	if h.extAuthzN != 1 || rec.Code != http.StatusUnauthorized || rec.Body.String() != "{}" {
		t.Fatalf("ext-authz calls %d, answer %d %q", h.extAuthzN, rec.Code, rec.Body)
	}
}

func TestNoPrincipalIsDeniedOutsideExemptPaths(t *testing.T) {
	h := newHarness(t, nil)
	basic := http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}
	rec := h.do("/pipeline/apis/v2beta1/experiments", basic)
	if rec.Code != http.StatusForbidden || rec.Body.String() != "RBAC: access denied" || h.extAuthzN != 0 {
		t.Fatalf("got %d %q (ext-authz %d), want 403 RBAC: access denied without ext-authz", rec.Code, rec.Body, h.extAuthzN)
	}
	if rec := h.do("/dex/keys", basic); rec.Code != http.StatusOK {
		t.Fatalf("exempt path: got %d %s", rec.Code, rec.Body)
	}
	if rec := h.do("/oauth2/start", nil); rec.Code != http.StatusOK || h.extAuthzN != 0 {
		t.Fatalf("exempt path without credentials: got %d (ext-authz %d), want routed without ext-authz", rec.Code, h.extAuthzN)
	}
}

func TestConfiguredAudiencesAreEnforced(t *testing.T) {
	h := newHarness(t, []string{"pipelines.kubeflow.org"})
	rec := h.do("/pipeline/", bearer(h.sign(h.key, "kid-1", h.saClaims())))
	if rec.Code != http.StatusForbidden || rec.Body.String() != "Audiences in Jwt are not allowed" {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
}

func TestUnreachableJWKSRefusesInsteadOfAllowing(t *testing.T) {
	g, err := New(Config{Rules: []JWTRule{{Issuer: kubeIssuer, JWKSURI: "http://127.0.0.1:1/openid/v1/jwks"}},
		HTTPClient: &http.Client{Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	h := &harness{t: t, key: key, now: time.Now()}
	h.handler = g.Handler(func(next http.Handler) http.Handler { return next }, http.NotFoundHandler())
	rec := h.do("/pipeline/", bearer(h.sign(key, "k", h.saClaims())))
	if rec.Code != http.StatusUnauthorized || rec.Body.String() != MsgKidAlgMismatch {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
}

func TestConfigErrors(t *testing.T) {
	c := &http.Client{Timeout: time.Second}
	for name, cfg := range map[string]Config{
		"no client":        {},
		"rule without uri": {HTTPClient: c, Rules: []JWTRule{{Issuer: kubeIssuer}}},
		"duplicate issuer": {HTTPClient: c, Rules: []JWTRule{{Issuer: kubeIssuer, JWKSURI: "u"}, {Issuer: kubeIssuer, JWKSURI: "u"}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
