package oauth2proxy

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Test keys are made once: RSA generation is the slowest part of the package's tests.
var (
	keysOnce            sync.Once
	idpKey, strangerKey *rsa.PrivateKey
	keysErr             error
)

func testKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		if idpKey, keysErr = rsa.GenerateKey(rand.Reader, 2048); keysErr != nil {
			return
		}
		strangerKey, keysErr = rsa.GenerateKey(rand.Reader, 2048)
	})
	if keysErr != nil {
		t.Fatalf("generating RSA keys: %v", keysErr)
	}
	return idpKey, strangerKey
}

// fakeIdP is the smallest Dex the proxy talks to server-side: /keys and /token (authorization_code with PKCE
// S256 and a confidential client).
type fakeIdP struct {
	t      *testing.T
	srv    *httptest.Server
	key    *rsa.PrivateKey
	issuer string
	clock  *testClock

	mu       sync.Mutex
	codes    map[string]issuedCode
	requests []tokenRequest
	seq      int
}

type issuedCode struct {
	claims    map[string]any
	challenge string // S256 challenge the verifier must match; "" = no PKCE
}

// tokenRequest is what the proxy sent to /token.
type tokenRequest struct {
	basicUser, basicPass string
	hasBasic             bool
	form                 url.Values
}

const (
	testClientID     = "kubeflow-oidc-authservice"
	testClientSecret = "pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok"
)

func newFakeIdP(t *testing.T, clock *testClock) *fakeIdP {
	t.Helper()
	key, _ := testKeys(t)
	idp := &fakeIdP{t: t, key: key, clock: clock, codes: map[string]issuedCode{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /dex/keys", idp.keys)
	mux.HandleFunc("POST /dex/token", idp.token)
	idp.srv = httptest.NewServer(mux)
	t.Cleanup(idp.srv.Close)
	idp.issuer = idp.srv.URL + "/dex"
	return idp
}

func (idp *fakeIdP) keys(w http.ResponseWriter, _ *http.Request) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &idp.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

func (idp *fakeIdP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	req := tokenRequest{form: r.PostForm}
	req.basicUser, req.basicPass, req.hasBasic = r.BasicAuth()
	idp.mu.Lock()
	idp.requests = append(idp.requests, req)
	issued, ok := idp.codes[r.PostForm.Get("code")]
	delete(idp.codes, r.PostForm.Get("code"))
	idp.mu.Unlock()

	user, _ := url.QueryUnescape(req.basicUser)
	pass, _ := url.QueryUnescape(req.basicPass)
	if !req.hasBasic {
		user, pass = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	switch {
	case user != testClientID || pass != testClientSecret:
		tokenError(w, http.StatusUnauthorized, "invalid_client")
	case !ok:
		tokenError(w, http.StatusBadRequest, "invalid_grant")
	case issued.challenge != "" && s256(r.PostForm.Get("code_verifier")) != issued.challenge:
		tokenError(w, http.StatusBadRequest, "invalid_grant")
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": "opaque-access", "token_type": "bearer", "expires_in": 3600,
			"id_token": idp.sign(idp.key, issued.claims),
		})
	}
}

func tokenError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// issueCode registers a code whose ID token carries claims (merged over the defaults).
func (idp *fakeIdP) issueCode(claims map[string]any, challenge string) string {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.seq++
	code := "code-" + strconv.Itoa(idp.seq)
	idp.codes[code] = issuedCode{claims: idp.claims(claims), challenge: challenge}
	return code
}

// claims returns a Dex-like ID token claim set for user@example.com, overridden by extra (nil values delete).
func (idp *fakeIdP) claims(extra map[string]any) map[string]any {
	now := idp.clock.Now()
	c := map[string]any{
		"iss": idp.issuer, "sub": "CiQwOGE4Njg0Yi1kYjg4", "aud": testClientID,
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"email": "user@example.com", "email_verified": true,
		"groups": []string{"team-a"}, "name": "user", "preferred_username": "user",
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func (idp *fakeIdP) sign(key *rsa.PrivateKey, claims map[string]any) string {
	idp.t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		idp.t.Fatalf("signer: %v", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		idp.t.Fatalf("claims: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		idp.t.Fatalf("sign: %v", err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		idp.t.Fatalf("serialize: %v", err)
	}
	return out
}

func (idp *fakeIdP) lastTokenRequest() tokenRequest {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	if len(idp.requests) == 0 {
		idp.t.Fatal("the proxy never called /token")
	}
	return idp.requests[len(idp.requests)-1]
}

// testClock is the injected clock; tests move it forward instead of sleeping.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now().Truncate(time.Second)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
