package kube

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kfp-authcheck/kfp-authcheck/internal/selfca"
)

// Defaults of kube-apiserver on kind and in Kubeflow's manifests CI.
const (
	// DefaultIssuer is --service-account-issuer on kind (and the m2m-dex-and-kind overlay's issuer).
	DefaultIssuer = "https://kubernetes.default.svc.cluster.local"
	// AdminUser is the kubeconfig's user, in group system:masters, as kind's admin.conf.
	AdminUser = "kubernetes-admin"
	// maxBody bounds a request body, as kube-apiserver's 3 MiB limit on JSON does.
	maxBody = 3 << 20
)

// Config configures a stand-in.
type Config struct {
	// Issuer is the service account issuer, also the default (API) audience. Default DefaultIssuer.
	Issuer string
	// APIAudiences are the audiences kube-apiserver accepts for its own API (--api-audiences); default [Issuer].
	APIAudiences []string
	// Now is the clock for tokens; nil means time.Now. The embedded stack passes its movable clock.
	Now func() time.Time
	// Key signs ServiceAccount tokens; nil makes a new 2048-bit RSA key.
	Key *rsa.PrivateKey
}

// Server is the stand-in. It is safe for concurrent use.
type Server struct {
	cfg        Config
	keyID      string
	adminToken string
	url        string

	mu      sync.RWMutex
	objects map[string]map[string]runtime.Object
	rv      int64
	// ruleAllows replaces RuleAllows in the authorizer when set (SetRuleMatcher).
	ruleAllows func(Attributes, *rbacv1.PolicyRule) bool

	srv *http.Server
	ca  *selfca.Bundle
}

// New makes an empty cluster: the default namespaces and the bootstrap RBAC a request path needs.
func New(cfg Config) (*Server, error) {
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if len(cfg.APIAudiences) == 0 {
		cfg.APIAudiences = []string{cfg.Issuer}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("kube: signing key: %w", err)
		}
		cfg.Key = k
	}
	kid, err := keyID(&cfg.Key.PublicKey)
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, keyID: kid, adminToken: hex.EncodeToString(tok), objects: map[string]map[string]runtime.Object{}}
	for r := range resources {
		s.objects[r] = map[string]runtime.Object{}
	}
	for _, ns := range []string{"default", "kube-system", "kube-public", "kubeflow"} {
		if _, err := s.create(resources[resNamespaces], "", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return nil, err
		}
	}
	if err := s.bootstrapRBAC(); err != nil {
		return nil, err
	}
	return s, nil
}

// bootstrapRBAC holds the few bootstrap policy objects the stand-in's own paths rely on: issuer discovery, which
// Kubeflow binds to system:unauthenticated (allow-unauthenticated-issuer-discovery) so that Istio can fetch the
// JWKS.
func (s *Server) bootstrapRBAC() error {
	discovery := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "system:service-account-issuer-discovery",
		Labels: map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{
			"/.well-known/openid-configuration", "/.well-known/openid-configuration/", "/openid/v1/jwks", "/openid/v1/jwks/"}}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "allow-unauthenticated-issuer-discovery"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: discovery.Name},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:unauthenticated"}}}
	// system:basic-user lets every authenticated user ask about itself (SelfSubjectAccessReview).
	basic := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "system:basic-user",
		Labels: map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"create"}, APIGroups: []string{"authorization.k8s.io"},
			Resources: []string{"selfsubjectaccessreviews", "selfsubjectrulesreviews"}}}}
	basicBinding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "system:basic-user"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: basic.Name},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:authenticated"}}}
	for _, o := range []runtime.Object{discovery, basic} {
		if _, err := s.create(resources[resClusterRoles], "", o); err != nil {
			return err
		}
	}
	for _, o := range []runtime.Object{binding, basicBinding} {
		if _, err := s.create(resources[resClusterRoleBindings], "", o); err != nil {
			return err
		}
	}
	return nil
}

// Start serves HTTPS on addr (default 127.0.0.1:0) until Close, with a certificate from a CA of its own (see
// CAPEM). It is HTTPS because kube-apiserver is, and because client-go sends a kubeconfig's credentials only
// over TLS.
func (s *Server) Start(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ca, err := selfca.New()
	if err != nil {
		return fmt.Errorf("kube: serving certificate: %w", err)
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("kube: listen %s: %w", addr, err)
	}
	s.ca = ca
	s.url = "https://" + lis.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{ca.Server}}}
	go func() { _ = s.srv.ServeTLS(lis, "", "") }()
	return nil
}

// CAPEM is the CA bundle that verifies the serving certificate (the kubeconfig's certificate-authority-data).
func (s *Server) CAPEM() []byte { return s.ca.CAPEM }

// TLSConfig trusts the serving certificate, for in-process HTTP clients.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: s.ca.Pool}
}

// URL is the server's address once started.
func (s *Server) URL() string { return s.url }

// AdminToken is the bearer token of the kubeconfig's user (system:masters). It is a secret.
func (s *Server) AdminToken() string { return s.adminToken }

// Issuer is the service account issuer.
func (s *Server) Issuer() string { return s.cfg.Issuer }

// Close stops serving.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	// A short grace, then close: client-go's idle HTTP/2 connections count as active until the GOAWAY drains
	// (a second or more), and whoever closes the stand-in is done with it.
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return s.srv.Close()
	}
	return nil
}

// ServeHTTP authenticates, authorizes and routes one request, in kube-apiserver's order.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, err := s.authenticateRequest(r)
	if err != nil {
		writeStatus(w, apierrors.NewUnauthorized("Unauthorized"))
		return
	}
	rt, ok := parsePath(r)
	if !ok {
		writeStatus(w, notFoundPath())
		return
	}
	attrs := rt.attributes(user, r)
	if allowed, reason := s.authorize(attrs); !allowed {
		writeStatus(w, forbidden(attrs, reason))
		return
	}
	switch {
	case !rt.resourceRequest:
		s.serveNonResource(w, r)
	case rt.subresource == "token":
		s.serveTokenRequest(w, r, rt)
	case rt.res == nil:
		s.serveReview(w, r, rt, user)
	default:
		s.serveResource(w, r, rt)
	}
}

// route is a parsed request path.
type route struct {
	resourceRequest bool
	group           string
	resource        string
	res             *resource // nil for tokenreviews and (self)subjectaccessreviews
	namespace, name string
	subresource     string
}

// parsePath understands /api/v1/... and /apis/<group>/<version>/..., and the issuer discovery paths.
func parsePath(r *http.Request) (route, bool) {
	p := strings.Trim(r.URL.Path, "/")
	switch r.URL.Path {
	case "/.well-known/openid-configuration", "/openid/v1/jwks":
		return route{}, true
	}
	parts := strings.Split(p, "/")
	var group string
	switch {
	case len(parts) >= 3 && parts[0] == "api" && parts[1] == "v1":
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis" && parts[2] == "v1":
		group = parts[1]
		parts = parts[3:]
	default:
		return route{}, false
	}
	rt := route{resourceRequest: true, group: group}
	if len(parts) >= 3 && parts[0] == "namespaces" && parts[1] != "" {
		rt.namespace = parts[1]
		parts = parts[2:]
	}
	if len(parts) == 0 || len(parts) > 3 {
		return route{}, false
	}
	rt.resource = parts[0]
	if len(parts) >= 2 {
		rt.name = parts[1]
	}
	if len(parts) == 3 {
		rt.subresource = parts[2]
	}
	switch {
	case group == "authentication.k8s.io" && rt.resource == "tokenreviews" && rt.name == "" && rt.namespace == "":
		return rt, true
	case group == "authorization.k8s.io" && (rt.resource == "subjectaccessreviews" || rt.resource == "selfsubjectaccessreviews") &&
		rt.name == "" && rt.namespace == "":
		return rt, true
	}
	res, ok := resources[rt.resource]
	if !ok || res.group != group || (res.namespaced != (rt.namespace != "") && !(res.namespaced && rt.name == "" && r.Method == http.MethodGet)) {
		return route{}, false
	}
	if rt.subresource != "" && !(rt.resource == resServiceAccounts && rt.subresource == "token") {
		return route{}, false
	}
	rt.res = res
	return rt, true
}

// attributes are the authorizer attributes kube-apiserver's RequestInfoFactory derives from a request.
func (rt route) attributes(u User, r *http.Request) Attributes {
	if !rt.resourceRequest {
		return Attributes{User: u, Verb: strings.ToLower(r.Method), Path: r.URL.Path}
	}
	verb := ""
	switch r.Method {
	case http.MethodPost:
		verb = "create"
	case http.MethodGet, http.MethodHead:
		verb = "get"
		if rt.name == "" {
			verb = "list"
		}
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
		if rt.name == "" {
			verb = "deletecollection"
		}
	}
	return Attributes{User: u, Verb: verb, Namespace: rt.namespace, APIGroup: rt.group, Resource: rt.resource,
		Subresource: rt.subresource, Name: rt.name, ResourceRequest: true}
}

// forbidden is the 403 Status kube-apiserver's responsewriters.Forbidden writes.
func forbidden(a Attributes, reason string) *apierrors.StatusError {
	var msg string
	switch {
	case !a.ResourceRequest:
		msg = fmt.Sprintf("User %q cannot %s path %q", a.User.Name, a.Verb, a.Path)
	default:
		res := a.Resource
		if a.Subresource != "" {
			res += "/" + a.Subresource
		}
		if a.Namespace != "" {
			msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q in the namespace %q", a.User.Name, a.Verb, res, a.APIGroup, a.Namespace)
		} else {
			msg = fmt.Sprintf("User %q cannot %s resource %q in API group %q at the cluster scope", a.User.Name, a.Verb, res, a.APIGroup)
		}
	}
	if reason != "" {
		msg += ": " + reason
	}
	if !a.ResourceRequest {
		return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden,
			Reason: metav1.StatusReasonForbidden, Message: "forbidden: " + msg, Details: &metav1.StatusDetails{}}}
	}
	return apierrors.NewForbidden(schema.GroupResource{Group: a.APIGroup, Resource: a.Resource}, a.Name, errors.New(msg))
}

func notFoundPath() *apierrors.StatusError {
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusNotFound,
		Reason: metav1.StatusReasonNotFound, Message: "the server could not find the requested resource",
		Details: &metav1.StatusDetails{}}}
}

// writeStatus writes a Status as kube-apiserver does (kind Status, apiVersion v1).
func writeStatus(w http.ResponseWriter, se *apierrors.StatusError) {
	st := se.ErrStatus
	st.Kind, st.APIVersion = "Status", "v1"
	writeJSON(w, int(st.Code), &st)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// decoder reads request bodies in every encoding client-go sends: JSON, YAML, and protobuf, which
// client-go v0.34's typed clients send by default for built-in types. Answers are always JSON, which every
// client-go Accept header includes.
var decoder = serializer.NewCodecFactory(scheme.Scheme).UniversalDeserializer()

// decodeBody reads a bounded body into obj; a bad body is 400 as kube-apiserver answers it.
func decodeBody(r *http.Request, obj runtime.Object) *apierrors.StatusError {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return apierrors.NewBadRequest("the body of the request could not be read: " + err.Error())
	}
	if len(b) > maxBody {
		return apierrors.NewRequestEntityTooLargeError("limit is 3145728")
	}
	if _, _, err := decoder.Decode(b, nil, obj); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf: %v", err))
	}
	return nil
}

// serveResource is create, get, list and delete on a stored resource.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, rt route) {
	res := rt.res
	switch {
	case r.Method == http.MethodPost && rt.name == "":
		obj := res.newObj()
		if se := decodeBody(r, obj); se != nil {
			writeStatus(w, se)
			return
		}
		out, err := s.create(res, rt.namespace, obj)
		if err != nil {
			writeStatus(w, toStatus(err))
			return
		}
		writeJSON(w, http.StatusCreated, out)
	case r.Method == http.MethodGet && rt.name != "":
		out, err := s.get(res, rt.namespace, rt.name)
		if err != nil {
			writeStatus(w, toStatus(err))
			return
		}
		writeJSON(w, http.StatusOK, out)
	case r.Method == http.MethodGet:
		sel, err := labels.Parse(r.URL.Query().Get("labelSelector"))
		if err != nil {
			writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err)))
			return
		}
		writeJSON(w, http.StatusOK, s.list(res, rt.namespace, sel))
	case r.Method == http.MethodDelete && rt.name != "":
		out, err := s.delete(res, rt.namespace, rt.name)
		if err != nil {
			writeStatus(w, toStatus(err))
			return
		}
		writeJSON(w, http.StatusOK, out)
	default:
		writeStatus(w, apierrors.NewMethodNotSupported(res.gr(), strings.ToLower(r.Method)))
	}
}

func toStatus(err error) *apierrors.StatusError {
	var se *apierrors.StatusError
	if errors.As(err, &se) {
		return se
	}
	return apierrors.NewInternalError(err)
}

// create stores obj (a fresh object the caller owns) with the metadata the server assigns.
func (s *Server) create(res *resource, ns string, obj runtime.Object) (runtime.Object, error) {
	m := metaOf(obj)
	if m.GetName() == "" && m.GetGenerateName() != "" {
		m.SetName(m.GetGenerateName() + randomSuffix())
	}
	if bodyNS := m.GetNamespace(); res.namespaced && bodyNS != "" && bodyNS != ns {
		return nil, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	if errs := validateName(res, m.GetName()); len(errs) > 0 {
		return nil, apierrors.NewInvalid(schema.GroupKind{Group: res.group, Kind: res.kind}, m.GetName(), errs)
	}
	if res.namespaced {
		m.SetNamespace(ns)
	} else {
		m.SetNamespace("")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if res.namespaced {
		if _, ok := s.objects[resNamespaces][key("", ns)]; !ok {
			return nil, apierrors.NewNotFound(schema.GroupResource{Resource: resNamespaces}, ns)
		}
	}
	k := key(m.GetNamespace(), m.GetName())
	if _, ok := s.objects[res.plural][k]; ok {
		return nil, apierrors.NewAlreadyExists(res.gr(), m.GetName())
	}
	m.SetUID(types.UID(newUUID()))
	m.SetCreationTimestamp(metav1.NewTime(s.cfg.Now().UTC().Truncate(time.Second)))
	m.SetResourceVersion(s.nextResourceVersion())
	m.SetGeneration(0)
	setTypeMeta(res, obj)
	if ns, ok := obj.(*corev1.Namespace); ok {
		ns.Status.Phase = corev1.NamespaceActive
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels["kubernetes.io/metadata.name"] = ns.Name
		ns.Spec.Finalizers = []corev1.FinalizerName{corev1.FinalizerKubernetes}
	}
	s.objects[res.plural][k] = obj
	if res.plural == resClusterRoles {
		if err := s.reconcileAggregation(); err != nil {
			delete(s.objects[res.plural], k)
			return nil, apierrors.NewInvalid(schema.GroupKind{Group: res.group, Kind: res.kind}, m.GetName(), nil)
		}
	}
	return obj.DeepCopyObject(), nil
}

func validateName(res *resource, name string) []*field.Error {
	if name == "" {
		return []*field.Error{field.Required(field.NewPath("metadata", "name"), "name or generateName is required")}
	}
	var msgs []string
	if res.group == rbacv1.GroupName {
		msgs = pathSegmentErrors(name) // RBAC objects take any path segment name (system:...)
	} else {
		msgs = validation.IsDNS1123Subdomain(name)
		if res.plural == resNamespaces {
			msgs = validation.IsDNS1123Label(name)
		}
	}
	var out []*field.Error
	for _, m := range msgs {
		out = append(out, field.Invalid(field.NewPath("metadata", "name"), name, m))
	}
	return out
}

func pathSegmentErrors(name string) []string {
	switch {
	case name == "." || name == "..":
		return []string{fmt.Sprintf("may not be '%s'", name)}
	case strings.ContainsAny(name, "/%"):
		return []string{"may not contain '/' or '%'"}
	}
	return nil
}

func setTypeMeta(res *resource, obj runtime.Object) {
	obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{Group: res.group, Version: res.version, Kind: res.kind})
}

func (s *Server) get(res *resource, ns, name string) (runtime.Object, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.objects[res.plural][key(ns, name)]
	if !ok {
		return nil, apierrors.NewNotFound(res.gr(), name)
	}
	return o.DeepCopyObject(), nil
}

func (s *Server) list(res *resource, ns string, sel labels.Selector) runtime.Object {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var items []runtime.Object
	for _, o := range sortedObjects[runtime.Object](s, res.plural, ns) {
		if sel.Matches(labels.Set(metaOf(o).GetLabels())) {
			c := o.DeepCopyObject()
			c.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{}) // list items carry no kind
			items = append(items, c)
		}
	}
	l := res.list(items, fmt.Sprint(s.rv))
	l.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{Group: res.group, Version: res.version, Kind: res.kind + "List"})
	return l
}

// delete removes an object. A namespace takes its namespaced objects with it at once (kube-apiserver marks it
// Terminating and the namespace controller empties it); the answer is the namespace as kube-apiserver returns
// it, other resources answer with a Success Status.
func (s *Server) delete(res *resource, ns, name string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(ns, name)
	o, ok := s.objects[res.plural][k]
	if !ok {
		return nil, apierrors.NewNotFound(res.gr(), name)
	}
	delete(s.objects[res.plural], k)
	s.nextResourceVersion()
	if res.plural == resNamespaces {
		for plural, objs := range s.objects {
			if resources[plural].namespaced {
				for ok, obj := range objs {
					if metaOf(obj).GetNamespace() == name {
						delete(objs, ok)
					}
				}
			}
		}
		n := o.(*corev1.Namespace).DeepCopy()
		now := metav1.NewTime(s.cfg.Now().UTC().Truncate(time.Second))
		n.DeletionTimestamp = &now
		n.Status.Phase = corev1.NamespaceTerminating
		return n, nil
	}
	if res.plural == resClusterRoles {
		_ = s.reconcileAggregation()
	}
	m := metaOf(o)
	return &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess,
		Details: &metav1.StatusDetails{Name: m.GetName(), Group: res.group, Kind: res.plural, UID: m.GetUID()}}, nil
}

func randomSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789" // utilrand's alphabet: no vowels, no confusable digits
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
