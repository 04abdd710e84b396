package local

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	kfpmock "github.com/kfp-authcheck/kfp-authcheck/mocks/kfpapi"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// kubeWiring is what the stack keeps of its kube-apiserver beyond the process: a client-go client with the admin
// credential (fixtures, and the KFP API stand-in's TokenReviews and SubjectAccessReviews).
type kubeWiring struct {
	client kubernetes.Interface
	// admission: the PodDefault kind and webhook stand-in are registered (startPodDefaults).
	admission bool
}

// startKubeAPI starts etcd, kube-apiserver and kube-controller-manager (which aggregates ClusterRoles), and for
// a multi-user profile applies its Kubeflow Profiles as RBAC with the same fixtures as the embedded tier's
// Kubernetes stand-in, so the profile's users (user@example.com in kubeflow-user-example-com) get their
// RoleBindings in the real kube-apiserver. It returns once the aggregated ClusterRoles hold their rules.
func (s *Stack) startKubeAPI(ctx context.Context, p *profile.Profile, tools string, opts Options) error {
	k, err := startKube(ctx, &s.procs, tools, s.dir, opts.StartTimeout, opts.Progress)
	if err != nil {
		return err
	}
	s.Kube = k
	s.redactor.Add(k.AdminToken)
	s.Versions["etcd"] = ToolVersion(tools, "etcd")
	s.Versions["kube-apiserver"] = ToolVersion(tools, "kube-apiserver")
	s.Versions["kube-controller-manager"] = ToolVersion(tools, "kube-controller-manager")
	// Nobody else shares this kube-apiserver: the verb matrix's SubjectAccessReviews need no client-side limit.
	client, err := target.KubeClientUnthrottled(k.Kubeconfig, "", 15*time.Second)
	if err != nil {
		return err
	}
	s.kube = &kubeWiring{client: client}
	if !p.MultiUser {
		return nil
	}
	applyCtx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	if err := components.ApplyProfileRBAC(applyCtx, client, p); err != nil {
		return fmt.Errorf("kube-apiserver: the profile's RBAC: %w", err)
	}
	if err := waitAggregated(applyCtx, client); err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	progress(opts.Progress, "kube-apiserver: %d Kubeflow Profile(s) applied as RBAC", len(p.KFP.Namespaces))
	if err := s.startPodDefaults(ctx, client, p, opts.StartTimeout); err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	s.kube.admission = true
	return nil
}

// kfpAuth is how the KFP API stand-in authenticates bearer tokens and authorizes requests: with a kube-apiserver
// and in multi-user mode, TokenReviews (audience pipelines.kubeflow.org) and SubjectAccessReviews against it, as
// the real server does in a cluster; without one, the profile's Kubeflow Profiles and no bearer tokens.
func (s *Stack) kfpAuth(p *profile.Profile) (kfpmock.Authorizer, kfpmock.TokenReviewer) {
	if s.kube == nil || !p.MultiUser {
		return components.ProfileAuthorizer(p), nil
	}
	return kfpmock.KubeAuthorizer{Client: s.kube.client}, kfpmock.KubeTokenReviewer{Client: s.kube.client}
}

// declared are the capabilities the stack's description states: a real kube-apiserver, admission where the
// PodDefault webhook is registered, no runs with the real KFP API server (no Argo here, so ISO-004/006 are n/a),
// and no M2M where the profile's mesh has no stand-in in front (a ServiceAccount token would meet oauth2-proxy,
// which is not the deployment the M2M checks judge). No clock: real programs keep real time.
func (s *Stack) declared() target.CapabilitySet {
	d := target.CapabilitySet{}
	if s.kube != nil {
		d[target.CapKubeAPI] = true
		if s.kube.admission {
			d[target.CapAdmission] = true
		}
		if s.Profile.Gateway != nil && s.Profile.Gateway.Mesh != nil && !s.meshed {
			d[target.CapM2M] = false
		}
	}
	if s.kfp != nil {
		d[target.CapRuns] = false
	}
	if len(d) == 0 {
		return nil
	}
	return d
}
