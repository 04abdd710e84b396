package istiogateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

type rule struct {
	JWTRule
	keys *keyCache
}

// verifyRequest is jwt_authn with Istio's requirement "any configured provider, or no token at all". It returns
// the request principal (iss/sub, "" without a token) and the claim headers, or a refusal (status, message).
func (g *Gateway) verifyRequest(r *http.Request) (principal string, headers []header, status int, msg string) {
	raw, ok := g.extract(r)
	if !ok {
		return "", nil, 0, ""
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || parts[2] == "" {
		return "", nil, http.StatusUnauthorized, MsgBadFormat
	}
	var segs [3][]byte
	for i, p := range parts {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(p, "="))
		if err != nil {
			return "", nil, http.StatusUnauthorized, MsgBadFormat
		}
		segs[i] = b
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(segs[0], &hdr); err != nil {
		return "", nil, http.StatusUnauthorized, MsgHeaderBadJSON
	}
	if hdr.Alg == "" || strings.EqualFold(hdr.Alg, "none") {
		return "", nil, http.StatusUnauthorized, MsgBadFormat
	}
	claims := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(segs[1]))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		return "", nil, http.StatusUnauthorized, MsgPayloadBadJSON
	}
	iss, _ := claims["iss"].(string)
	ru, known := g.rules[iss]
	if !known {
		return "", nil, http.StatusUnauthorized, MsgUnknownIssuer
	}
	now := g.cfg.Now()
	if exp, ok := numericClaim(claims["exp"]); ok && now.After(time.Unix(exp, 0).Add(defaultClockSkew)) {
		return "", nil, http.StatusUnauthorized, MsgExpired
	}
	if nbf, ok := numericClaim(claims["nbf"]); ok && now.Add(defaultClockSkew).Before(time.Unix(nbf, 0)) {
		return "", nil, http.StatusUnauthorized, MsgNotYetValid
	}
	if len(ru.Audiences) > 0 && !slices.ContainsFunc(audiences(claims["aud"]), func(a string) bool {
		return slices.Contains(ru.Audiences, a)
	}) {
		return "", nil, http.StatusForbidden, MsgAudienceDenied
	}
	if msg := ru.verifySignature(raw, hdr.Alg, hdr.Kid); msg != "" && !mutate.On(mutate.GatewayNoSignature) {
		return "", nil, http.StatusUnauthorized, msg
	}
	for _, c := range ru.OutputClaimToHeaders {
		if v, ok := claimString(claims[c.Claim]); ok {
			headers = append(headers, header{name: c.Header, value: v})
		}
	}
	sub, _ := claims["sub"].(string)
	return iss + "/" + sub, headers, 0, ""
}

// extract finds the token: the Authorization header with the rules' prefix. Every rule of a Kubeflow gateway
// reads the same header, so the first rule's location stands for all.
func (g *Gateway) extract(r *http.Request) (string, bool) {
	from, prefix := "Authorization", "Bearer "
	for _, ru := range g.rules {
		from, prefix = ru.FromHeader, ru.Prefix
		break
	}
	v := r.Header.Get(from)
	if !strings.HasPrefix(v, prefix) {
		return "", false
	}
	return strings.TrimSpace(strings.TrimPrefix(v, prefix)), true
}

// verifySignature selects the keys as jwt_verify_lib does (by kid when the token names one, and by alg) and
// verifies; "" means verified.
func (ru *rule) verifySignature(raw, alg, kid string) string {
	set, err := ru.keys.get()
	if err != nil {
		// istiod puts a placeholder key in the config when it cannot fetch the JWKS.
		return MsgKidAlgMismatch
	}
	tok, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
	if err != nil {
		return MsgKidAlgMismatch
	}
	matched := false
	for _, k := range set.Keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != alg {
			continue
		}
		matched = true
		if _, err := tok.Verify(k.Key); err == nil {
			return ""
		}
	}
	if !matched {
		return MsgKidAlgMismatch
	}
	return MsgVerification
}

func numericClaim(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	if err != nil {
		return 0, false
	}
	return int64(f), true
}

func audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// claimString is addJWTClaimToHeader's value: strings as they are, numbers and booleans printed, lists and
// objects as base64 of their JSON (Envoy 1.27 and later); false when the claim is absent or empty.
func claimString(v any) (string, bool) {
	var s string
	switch c := v.(type) {
	case string:
		s = c
	case json.Number:
		f, err := c.Float64()
		if err != nil {
			return "", false
		}
		if f == math.Trunc(f) {
			s = strconv.FormatInt(int64(f), 10)
		} else {
			s = strconv.FormatFloat(f, 'f', -1, 64)
		}
	case bool:
		s = strconv.FormatBool(c)
	case []any, map[string]any:
		b, err := json.Marshal(c)
		if err != nil {
			return "", false
		}
		s = base64.StdEncoding.EncodeToString(b)
	}
	return s, s != ""
}

// keyCache is istiod's copy of one issuer's JWKS, fetched again after refresh.
type keyCache struct {
	uri     string
	client  *http.Client
	refresh time.Duration
	now     func() time.Time

	mu      sync.Mutex
	set     *jose.JSONWebKeySet
	fetched time.Time
}

const maxJWKSBytes = 1 << 20

func (c *keyCache) get() (*jose.JSONWebKeySet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set != nil && c.now().Sub(c.fetched) < c.refresh {
		return c.set, nil
	}
	resp, err := c.client.Get(c.uri)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", c.uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS %s: %s", c.uri, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", c.uri, err)
	}
	if len(b) > maxJWKSBytes {
		return nil, errors.New("JWKS larger than 1 MiB")
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", c.uri, err)
	}
	c.set, c.fetched = &set, c.now()
	return c.set, nil
}
