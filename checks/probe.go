package checks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/auth/satoken"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// The in-cluster probe: the checks that must run inside a pod, as the pod's own ServiceAccount, with the token
// the kubelet projects. `kfp-authcheck probe` runs them in a Job; the outside runner reads the run JSON the probe
// prints and merges it. They are not in the main catalogue: outside a pod they have nothing to read.

// Probe is where the probe finds its identity and the API.
type Probe struct {
	// APIURL is the in-cluster KFP API (default http://ml-pipeline.kubeflow.svc.cluster.local:8888).
	APIURL string
	// Namespace is the pod's namespace (default: the ServiceAccount's namespace file).
	Namespace string
	// TokenPath is the projected token (default: $KF_PIPELINES_SA_TOKEN_PATH, else the SDK's default path).
	TokenPath string
	// RequestTimeout bounds each request (default 15s).
	RequestTimeout time.Duration
}

// DefaultProbeAPIURL is the KFP API Service as pods in a Kubeflow cluster reach it.
const DefaultProbeAPIURL = "http://ml-pipeline.kubeflow.svc.cluster.local:8888"

// saNamespaceFile is where every pod finds its own namespace.
const saNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Defaults fills what was left empty from the pod's environment; an unknown namespace is an error.
func (p Probe) Defaults(getenv func(string) string) (Probe, error) {
	if p.APIURL == "" {
		p.APIURL = DefaultProbeAPIURL
	}
	if p.RequestTimeout <= 0 {
		p.RequestTimeout = 15 * time.Second
	}
	if p.TokenPath == "" {
		p.TokenPath = satoken.TokenPath(getenv)
	}
	if p.Namespace == "" {
		b, err := os.ReadFile(saNamespaceFile)
		if err != nil {
			return p, fmt.Errorf("the pod's namespace: give --namespace, or run in a pod (%v)", err)
		}
		p.Namespace = strings.TrimSpace(string(b))
	}
	return p, nil
}

// Target is the probe's view of the setup: only the in-cluster API.
func (p Probe) Target() (*target.Target, error) {
	t, err := target.New(&target.File{Tier: "pod", InClusterAPIURL: p.APIURL,
		Capabilities: target.CapabilitySet{target.CapPods: true, target.CapMultiUser: true}}, target.Handles{Name: "probe:" + p.Namespace})
	if err != nil {
		return nil, err
	}
	t.RequestTimeout = p.RequestTimeout
	return t, nil
}

// Checks are the probe's checks, bound to its settings.
func (p Probe) Checks() []*Check {
	return []*Check{{ID: "SA-001", Family: "SA", Severity: Must, Needs: []target.Capability{target.CapInCluster, target.CapPods},
		Title:      "in a pod: the projected token (aud pipelines.kubeflow.org, KF_PIPELINES_SA_TOKEN_PATH) lists and creates in the pod's namespace",
		References: []string{"pipelines#5138", "pipelines#8087"},
		Run: func(ctx context.Context, env *Env) result.Result {
			return p.ownNamespace(ctx, env)
		}}}
}

// ownNamespace lists and creates experiments in the pod's namespace with the token file, re-read per request.
func (p Probe) ownNamespace(ctx context.Context, env *Env) result.Result {
	tok, err := satoken.ReadToken(p.TokenPath)
	if err != nil {
		r := fail(result.NoCredentials, "%v (is the projected volume mounted, or the PodDefault applied?)", err)
		return expecting(r, "list 200, create 200", "no token")
	}
	env.Target.Redactor.Add(tok)
	a := probeAccess(ctx, env.volumeClient(p.TokenPath), p.Namespace)
	if r, bad := transportTrouble("in-cluster API "+p.APIURL, a.listErr, a.createErr); bad {
		return r
	}
	if a.listErr != nil || a.createErr != nil {
		return expecting(failFromError("the pod's ServiceAccount in "+p.Namespace, errors.Join(a.listErr, a.createErr)), "list 200, create 200", a.String())
	}
	return expecting(pass("the pod's projected token lists and creates in %s", p.Namespace), "list 200, create 200", a.String())
}
