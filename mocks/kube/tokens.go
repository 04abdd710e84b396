package kube

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// Token lifetimes of TokenRequest (k8s.io/api authentication/v1 defaults and validation).
const (
	defaultExpirationSeconds = 3600
	minExpirationSeconds     = 600
	maxExpirationSeconds     = 1 << 32
	// leeway is go-jose's jwt.DefaultLeeway, which kube-apiserver's claim validation uses.
	leeway = time.Minute
)

// keyID is kube-apiserver's keyIDFromPublicKey: the unpadded base64url SHA-256 of the PKIX DER public key.
func keyID(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("kube: public key: %w", err)
	}
	h := crypto.SHA256.New()
	h.Write(der)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)), nil
}

// privateClaims are kube-apiserver's "kubernetes.io" claims for a token bound to no object.
type privateClaims struct {
	Kubernetes kubernetesClaims `json:"kubernetes.io"`
}

type kubernetesClaims struct {
	Namespace      string `json:"namespace,omitempty"`
	ServiceAccount ref    `json:"serviceaccount"`
}

type ref struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// Mint signs a ServiceAccount token as TokenRequest does, for tests that want one without an HTTP round trip.
func (s *Server) Mint(sa *corev1.ServiceAccount, audiences []string, expirationSeconds int64) (string, time.Time, error) {
	now := s.cfg.Now()
	exp := now.Add(time.Duration(expirationSeconds) * time.Second)
	claims := jwt.Claims{
		Issuer:    s.cfg.Issuer,
		Subject:   serviceAccountUsername(sa.Namespace, sa.Name),
		Audience:  jwt.Audience(audiences),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		Expiry:    jwt.NewNumericDate(exp),
		ID:        newUUID(),
	}
	pc := privateClaims{Kubernetes: kubernetesClaims{Namespace: sa.Namespace,
		ServiceAccount: ref{Name: sa.Name, UID: string(sa.UID)}}}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256,
		Key: jose.JSONWebKey{Key: s.cfg.Key, KeyID: s.keyID, Algorithm: string(jose.RS256)}}, nil)
	if err != nil {
		return "", time.Time{}, err
	}
	tok, err := jwt.Signed(signer).Claims(claims).Claims(pc).Serialize()
	return tok, exp, err
}

// serveTokenRequest is POST .../serviceaccounts/<name>/token.
func (s *Server) serveTokenRequest(w http.ResponseWriter, r *http.Request, rt route) {
	if r.Method != http.MethodPost {
		writeStatus(w, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "serviceaccounts/token"}, strings.ToLower(r.Method)))
		return
	}
	var tr authnv1.TokenRequest
	if se := decodeBody(r, &tr); se != nil {
		writeStatus(w, se)
		return
	}
	if tr.Spec.ExpirationSeconds == nil {
		v := int64(defaultExpirationSeconds)
		tr.Spec.ExpirationSeconds = &v
	}
	if len(tr.Spec.Audiences) == 0 {
		tr.Spec.Audiences = append([]string(nil), s.cfg.APIAudiences...)
	}
	var errs field.ErrorList
	switch exp := *tr.Spec.ExpirationSeconds; {
	case exp < minExpirationSeconds:
		errs = append(errs, field.Invalid(field.NewPath("spec", "expirationSeconds"), exp, "may not specify a duration less than 10 minutes"))
	case exp > maxExpirationSeconds:
		errs = append(errs, field.TooLong(field.NewPath("spec", "expirationSeconds"), exp, maxExpirationSeconds))
	}
	if tr.Spec.BoundObjectRef != nil {
		errs = append(errs, field.NotSupported(field.NewPath("spec", "boundObjectRef", "kind"), tr.Spec.BoundObjectRef.Kind, []string{}))
	}
	if len(errs) > 0 {
		writeStatus(w, apierrors.NewInvalid(schema.GroupKind{Group: "authentication.k8s.io", Kind: "TokenRequest"}, rt.name, errs))
		return
	}
	o, err := s.get(resources[resServiceAccounts], rt.namespace, rt.name)
	if err != nil {
		writeStatus(w, toStatus(err))
		return
	}
	tok, exp, err := s.Mint(o.(*corev1.ServiceAccount), tr.Spec.Audiences, *tr.Spec.ExpirationSeconds)
	if err != nil {
		writeStatus(w, apierrors.NewInternalError(err))
		return
	}
	tr.TypeMeta = metav1.TypeMeta{Kind: "TokenRequest", APIVersion: "authentication.k8s.io/v1"}
	tr.ObjectMeta = metav1.ObjectMeta{Name: rt.name, Namespace: rt.namespace,
		CreationTimestamp: metav1.NewTime(s.cfg.Now().UTC().Truncate(time.Second))}
	tr.Status = authnv1.TokenRequestStatus{Token: tok, ExpirationTimestamp: metav1.NewTime(exp.UTC().Truncate(time.Second))}
	writeJSON(w, http.StatusCreated, &tr)
}

// errInvalidBearer is bearertoken's default error when no token authenticator recognised the token.
var errInvalidBearer = errors.New("invalid bearer token")

// authenticateToken is kube-apiserver's token authentication for a ServiceAccount JWT of this issuer, with the
// audiences the caller asks for (a TokenReview's spec.audiences, or the API audiences). It returns the user and
// the audiences the token was accepted for; err says why a token of this issuer was refused, and is nil (with
// nil user) for a token some other authenticator would have had to recognise.
func (s *Server) authenticateToken(token string, wantAuds []string) (*User, []string, error) {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.ES384, jose.ES512, jose.PS256})
	if err != nil {
		return nil, nil, nil
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Issuer != s.cfg.Issuer {
		return nil, nil, nil
	}
	var public jwt.Claims
	var private privateClaims
	if mutate.On(mutate.KubeTokenNoSignature) {
		err = tok.UnsafeClaimsWithoutVerification(&public, &private)
	} else {
		err = tok.Claims(&s.cfg.Key.PublicKey, &public, &private)
	}
	if err != nil {
		// go-jose v2 (which kube-apiserver vendors) words a bad signature so.
		return nil, nil, errors.New("go-jose/go-jose: error in cryptographic primitive")
	}
	tokenAuds := []string(public.Audience)
	if len(tokenAuds) == 0 {
		tokenAuds = s.cfg.APIAudiences
	}
	auds := intersect(tokenAuds, wantAuds)
	if len(auds) == 0 {
		return nil, nil, fmt.Errorf("token audiences %q is invalid for the target audiences %q", tokenAuds, wantAuds)
	}
	now := s.cfg.Now()
	switch {
	case public.NotBefore != nil && now.Add(leeway).Before(public.NotBefore.Time()):
		return nil, nil, errors.New("service account token is not valid yet")
	case public.Expiry != nil && now.Add(-leeway).After(public.Expiry.Time()) && !mutate.On(mutate.KubeTokenNoExpiry):
		return nil, nil, errors.New("service account token has expired")
	case public.IssuedAt != nil && now.Add(leeway).Before(public.IssuedAt.Time()):
		return nil, nil, errors.New("service account token is issued in the future")
	}
	ns, sa := private.Kubernetes.Namespace, private.Kubernetes.ServiceAccount
	o, err := s.get(resources[resServiceAccounts], ns, sa.Name)
	if err != nil {
		return nil, nil, err
	}
	if uid := string(metaOf(o).GetUID()); uid != sa.UID {
		return nil, nil, fmt.Errorf("service account UID (%s) does not match claim (%s)", uid, sa.UID)
	}
	u := &User{Name: serviceAccountUsername(ns, sa.Name), UID: sa.UID,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
		Extra:  map[string][]string{"authentication.kubernetes.io/credential-id": {"JTI=" + public.ID}}}
	return u, auds, nil
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

// authenticateRequest is the request's identity: the admin token, a ServiceAccount token for the API
// audiences, or anonymous when there is no bearer token. A bearer token nobody accepts is an error (401).
func (s *Server) authenticateRequest(r *http.Request) (User, error) {
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	parts := strings.SplitN(auth, " ", 3)
	if auth == "" || len(parts) < 2 || !strings.EqualFold(parts[0], "bearer") || parts[1] == "" {
		return User{Name: "system:anonymous", Groups: []string{"system:unauthenticated"}}, nil
	}
	if parts[1] == s.adminToken {
		return User{Name: AdminUser, Groups: []string{"system:masters", "system:authenticated"}}, nil
	}
	u, _, err := s.authenticateToken(parts[1], s.cfg.APIAudiences)
	if u == nil {
		if err == nil {
			err = errInvalidBearer
		}
		return User{}, err
	}
	return *u, nil
}

// serveReview is POST tokenreviews, subjectaccessreviews and selfsubjectaccessreviews (asked as user).
func (s *Server) serveReview(w http.ResponseWriter, r *http.Request, rt route, user User) {
	if r.Method != http.MethodPost {
		writeStatus(w, apierrors.NewMethodNotSupported(schema.GroupResource{Group: rt.group, Resource: rt.resource}, strings.ToLower(r.Method)))
		return
	}
	if rt.resource == "tokenreviews" {
		s.serveTokenReview(w, r)
		return
	}
	if rt.resource == "selfsubjectaccessreviews" {
		s.serveSelfSubjectAccessReview(w, r, user)
		return
	}
	s.serveSubjectAccessReview(w, r)
}

// serveSelfSubjectAccessReview evaluates spec against RBAC as the requester itself, as kube-apiserver does
// (user, groups and UID from the request's authentication).
func (s *Server) serveSelfSubjectAccessReview(w http.ResponseWriter, r *http.Request, user User) {
	var sar authzv1.SelfSubjectAccessReview
	if se := decodeBody(r, &sar); se != nil {
		writeStatus(w, se)
		return
	}
	spec := sar.Spec
	if (spec.ResourceAttributes == nil) == (spec.NonResourceAttributes == nil) {
		writeStatus(w, apierrors.NewInvalid(schema.GroupKind{Group: "authorization.k8s.io", Kind: "SelfSubjectAccessReview"}, "",
			field.ErrorList{field.Invalid(field.NewPath("spec", "resourceAttributes"), spec.NonResourceAttributes, "exactly one of nonResourceAttributes or resourceAttributes must be specified")}))
		return
	}
	allowed, reason := s.authorize(reviewAttributes(user, spec.ResourceAttributes, spec.NonResourceAttributes))
	sar.TypeMeta = metav1.TypeMeta{Kind: "SelfSubjectAccessReview", APIVersion: "authorization.k8s.io/v1"}
	sar.ObjectMeta = metav1.ObjectMeta{CreationTimestamp: metav1.Time{}}
	sar.Status = authzv1.SubjectAccessReviewStatus{Allowed: allowed, Reason: reason}
	writeJSON(w, http.StatusCreated, &sar)
}

// serveTokenReview is kube-apiserver's TokenReview: authenticated, the user, and status.audiences (the
// intersection of the token's and the asked-for audiences, the API audiences when none are asked for).
// status.error carries the union authenticator's aggregate, "[invalid bearer token, <why>]", as kube-apiserver
// reports it when its ServiceAccount authenticator refused the token.
func (s *Server) serveTokenReview(w http.ResponseWriter, r *http.Request) {
	var tr authnv1.TokenReview
	if se := decodeBody(r, &tr); se != nil {
		writeStatus(w, se)
		return
	}
	if tr.Spec.Token == "" {
		writeStatus(w, apierrors.NewBadRequest("token is required for TokenReview in authentication"))
		return
	}
	auds := tr.Spec.Audiences
	if len(auds) == 0 {
		auds = s.cfg.APIAudiences
	}
	tr.TypeMeta = metav1.TypeMeta{Kind: "TokenReview", APIVersion: "authentication.k8s.io/v1"}
	tr.ObjectMeta = metav1.ObjectMeta{CreationTimestamp: metav1.Time{}}
	u, gotAuds, err := s.authenticateToken(tr.Spec.Token, auds)
	tr.Status = authnv1.TokenReviewStatus{Authenticated: u != nil}
	switch {
	case u != nil:
		tr.Status.User = authnv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups, Extra: map[string]authnv1.ExtraValue{}}
		for k, v := range u.Extra {
			tr.Status.User.Extra[k] = v
		}
		tr.Status.Audiences = gotAuds
	case err != nil:
		tr.Status.Error = "[" + errInvalidBearer.Error() + ", " + err.Error() + "]"
	default:
		tr.Status.Error = errInvalidBearer.Error()
	}
	writeJSON(w, http.StatusCreated, &tr)
}

// serveSubjectAccessReview evaluates spec against RBAC with exactly the user and groups given (KFP sets only
// user), as kube-apiserver's SubjectAccessReview does.
func (s *Server) serveSubjectAccessReview(w http.ResponseWriter, r *http.Request) {
	var sar authzv1.SubjectAccessReview
	if se := decodeBody(r, &sar); se != nil {
		writeStatus(w, se)
		return
	}
	var errs field.ErrorList
	spec := sar.Spec
	if (spec.ResourceAttributes == nil) == (spec.NonResourceAttributes == nil) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "resourceAttributes"), spec.NonResourceAttributes, "exactly one of nonResourceAttributes or resourceAttributes must be specified"))
	}
	if spec.User == "" && len(spec.Groups) == 0 {
		errs = append(errs, field.Invalid(field.NewPath("spec", "user"), spec.User, "at least one of user or group must be specified"))
	}
	if len(errs) > 0 {
		writeStatus(w, apierrors.NewInvalid(schema.GroupKind{Group: "authorization.k8s.io", Kind: "SubjectAccessReview"}, "", errs))
		return
	}
	allowed, reason := s.authorize(reviewAttributes(User{Name: spec.User, UID: spec.UID, Groups: spec.Groups},
		spec.ResourceAttributes, spec.NonResourceAttributes))
	sar.TypeMeta = metav1.TypeMeta{Kind: "SubjectAccessReview", APIVersion: "authorization.k8s.io/v1"}
	sar.ObjectMeta = metav1.ObjectMeta{CreationTimestamp: metav1.Time{}}
	sar.Status = authzv1.SubjectAccessReviewStatus{Allowed: allowed, Reason: reason}
	writeJSON(w, http.StatusCreated, &sar)
}

// serveNonResource is the service account issuer's discovery document and key set.
func (s *Server) serveNonResource(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeStatus(w, notFoundPath())
		return
	}
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		w.Header().Set("Cache-Control", "public, max-age=3600")
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                                s.cfg.Issuer,
			"jwks_uri":                              s.url + "/openid/v1/jwks",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	case "/openid/v1/jwks":
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.cfg.Key.PublicKey, KeyID: s.keyID,
			Algorithm: string(jose.RS256), Use: "sig"}}}
		b, _ := json.Marshal(set)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(b)
	default:
		writeStatus(w, notFoundPath())
	}
}

// JWKS is the issuer's key set, for verifiers wired in-process (the gateway stand-in).
func (s *Server) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.cfg.Key.PublicKey, KeyID: s.keyID, Algorithm: string(jose.RS256), Use: "sig"}}}
}

// reviewAttributes are what an access review (SubjectAccessReview or SelfSubjectAccessReview) asks about, for
// the user it names: a resource request, or a non-resource one when ra is nil (the spec was validated to hold
// exactly one).
func reviewAttributes(user User, ra *authzv1.ResourceAttributes, nra *authzv1.NonResourceAttributes) Attributes {
	a := Attributes{User: user}
	if ra != nil {
		a.ResourceRequest = true
		a.Verb, a.Namespace, a.APIGroup, a.Resource, a.Subresource, a.Name = ra.Verb, ra.Namespace, ra.Group, ra.Resource, ra.Subresource, ra.Name
	} else {
		a.Verb, a.Path = nra.Verb, nra.Path
	}
	return a
}
