package components

import (
	"net/http"

	"k8s.io/client-go/kubernetes"

	kfpmock "github.com/kfp-authcheck/kfp-authcheck/mocks/kfpapi"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// InClusterUIHandler is ml-pipeline-ui:80 as pods reach it, behind a stand-in for Kubeflow's Istio
// AuthorizationPolicy on it (WIRE-FACTS.md 1.3): with "authorization-without-userid" (1.9+) a request passes when
// it carries an Authorization header and no identity header; with "gateway-only" (1.8) none does, since only the
// ingress gateway's namespace is allowed. A refused request gets Envoy's 403 "RBAC: access denied". The UI passes
// /apis/ on to the API with the caller's headers.
func InClusterUIHandler(p *profile.Profile, ui http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allowed := false
		if p.KFP.UIPolicy == "authorization-without-userid" {
			allowed = r.Header.Get("Authorization") != "" && (p.KFP.UserIDHeader == "" || r.Header.Get(p.KFP.UserIDHeader) == "")
		}
		if !allowed {
			envoyDenied(w)
			return
		}
		ui.ServeHTTP(w, r)
	})
}

// envoyDenied is Envoy's answer when an Istio AuthorizationPolicy denies a request.
func envoyDenied(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte("RBAC: access denied"))
}

// InClusterHandler is the KFP API as ml-pipeline:8888 answers inside the cluster, behind a stand-in for
// Kubeflow's Istio policy on ml-pipeline: a request that carries the identity header and did not come through
// the gateway is refused (kubeflow#6702).
func InClusterHandler(p *profile.Profile, kfp *kfpmock.Server) http.Handler {
	return IstioPolicyStandIn(p, kfp.APIHandler())
}

// KFPStandInConfig is the KFP API stand-in's configuration for profile p (who it trusts, how it answers, which
// fixes of later KFP releases it has), reporting commit as its commit_sha; the caller adds how it authenticates
// and authorizes.
func KFPStandInConfig(p *profile.Profile, commit string) kfpmock.Config {
	return kfpmock.Config{
		MultiUser: p.MultiUser, UserIDHeader: p.KFP.UserIDHeader, UserIDPrefix: p.KFP.UserIDPrefix,
		ErrorFormat: p.KFP.ErrorFormat, TagName: p.KFP.Version, CommitSHA: commit,
		AuthorizePipelineReferences: p.KFP.AuthorizePipelineReferences,
		AuthorizeServiceAccounts:    p.KFP.AuthorizeServiceAccounts,
		AllowedServiceAccounts:      p.KFP.AllowedServiceAccounts,
	}
}

// InClusterKFP is the KFP API stand-in of profile p as ml-pipeline answers in a cluster whose API kube is: bearer
// tokens through TokenReviews, every request through SubjectAccessReviews (multi-user profiles), behind the Istio
// policy stand-in unless noMesh. `kfp-authcheck kfp-standin` serves it; the kind tier runs that in a pod.
func InClusterKFP(p *profile.Profile, kube kubernetes.Interface, noMesh bool, commit string) (http.Handler, error) {
	kfp, err := NewInClusterKFP(p, kube, commit)
	if err != nil {
		return nil, err
	}
	if noMesh {
		return kfp.APIHandler(), nil
	}
	return InClusterHandler(p, kfp), nil
}

// NewInClusterKFP is the KFP API stand-in of profile p that authenticates and authorizes against kube (a
// multi-user profile's TokenReviews and SubjectAccessReviews), for the handlers a cluster serves it through.
func NewInClusterKFP(p *profile.Profile, kube kubernetes.Interface, commit string) (*kfpmock.Server, error) {
	cfg := KFPStandInConfig(p, commit)
	if p.MultiUser {
		cfg.Authorizer, cfg.TokenReviewer = kfpmock.KubeAuthorizer{Client: kube}, kfpmock.KubeTokenReviewer{Client: kube}
	}
	return kfpmock.New(cfg)
}

// IstioPolicyStandIn stands in for Kubeflow 1.9's Istio AuthorizationPolicy on ml-pipeline in front of api (the
// stand-in or the real KFP API server): a request that carries the identity header and did not come through the
// gateway gets Envoy's 403 "RBAC: access denied". The KFP API server itself trusts the header from anyone.
func IstioPolicyStandIn(p *profile.Profile, api http.Handler) http.Handler {
	header := p.KFP.UserIDHeader
	if !p.MultiUser || header == "" {
		return api
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(header) != "" {
			envoyDenied(w)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// Upstream is what the gateway guards: the pipeline UI (and the API through it) under /pipeline, and a stand-in
// for the central dashboard everywhere else.
func Upstream(kfp *kfpmock.Server) *http.ServeMux {
	upstream := http.NewServeMux()
	upstream.Handle("/pipeline/", http.StripPrefix("/pipeline", kfp.UIHandler()))
	upstream.Handle("/pipeline", http.RedirectHandler("/pipeline/", http.StatusMovedPermanently))
	upstream.HandleFunc("/", dashboard)
	return upstream
}

// ProfileAuthorizer stands in for SubjectAccessReview with the profile's Kubeflow Profiles (owners and
// contributors).
func ProfileAuthorizer(p *profile.Profile) kfpmock.Authorizer {
	members := map[string][]string{}
	for _, ns := range p.KFP.Namespaces {
		members[ns.Name] = append([]string{ns.Owner}, ns.Contributors...)
	}
	return &kfpmock.ProfileAuthorizer{Members: members}
}

// dashboard stands in for the central dashboard behind the gateway.
func dashboard(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<!doctype html><title>Kubeflow Central Dashboard</title><h1>Kubeflow</h1>"))
}
