package kind

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/forward"
	"github.com/kfp-authcheck/kfp-authcheck/internal/image"
	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// StackOptions tune Start.
type StackOptions struct {
	// Keep leaves the cluster running after Close (its name and kubeconfig are printed to Progress).
	Keep bool
	// Progress gets kind's lines and the harness's own.
	Progress io.Writer
	// Image is the project's image tarball (`make image`): loaded into the nodes, it runs the KFP API stand-in
	// as ml-pipeline.kubeflow:8888 and the probe. Empty: no KFP API in the cluster.
	Image string
}

// deployTimeout bounds the KFP API stand-in's Deployment becoming available (the image is already in the nodes).
const deployTimeout = 3 * time.Minute

// Stack is a kind cluster made for one profile: the Kubernetes side (RBAC, TokenRequest, TokenReview,
// SubjectAccessReview, kubelets), the profile's Profiles as RBAC, and with StackOptions.Image the project's KFP API
// stand-in as ml-pipeline.kubeflow:8888 (reached from here through a port-forward), the probe's image and, for a
// multi-user profile, the PodDefault webhook stand-in with the profile's PodDefaults. The
// profile's Dex and gateway are not deployed into it yet, so the checks that need them are n/a with that reason.
type Stack struct {
	Profile *profile.Profile
	Cluster *Cluster
	dir     string
	opts    StackOptions
	kube    target.Target
	// imageRef is the loaded image's reference and kfp the port-forward to ml-pipeline; both unset without Image.
	imageRef string
	kfp      *forward.Forward
	// admission: the PodDefault webhook stand-in is registered (SA-007 runs).
	admission bool
}

// Start checks for a Docker engine first (ErrNoDocker, within 10 seconds), then makes a run-unique cluster.
func Start(ctx context.Context, p *profile.Profile, opts StackOptions) (*Stack, error) {
	if err := CheckDocker(ctx, 10*time.Second); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kfp-authcheck-kind-")
	if err != nil {
		return nil, err
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := "kfp-authcheck-" + p.Name + "-" + hex.EncodeToString(b)
	if len(name) > 40 {
		name = "kfp-authcheck-" + hex.EncodeToString(b)
	}
	if opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "kind: creating cluster %s (%s)\n", name, NodeImage)
	}
	c, err := Create(Options{Name: name, Dir: dir, Log: opts.Progress})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Stack{Profile: p, Cluster: c, dir: dir, opts: opts}
	kube, err := target.KubeClient(c.Kubeconfig, "", 30*time.Second)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("kind: a client for %s: %w", name, err)
	}
	s.kube.Kube, s.kube.Kubeconfig = kube, c.Kubeconfig
	if p.MultiUser {
		// The profile's Kubeflow Profiles as RBAC, with the same fixtures as the other tiers, so the checks that
		// look at the users' own namespaces (SA-010) find them; kind's controller-manager aggregates the roles.
		actx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if err := embedded.ApplyProfileRBAC(actx, kube, p); err != nil {
			s.Close()
			return nil, fmt.Errorf("kind: the profile's RBAC in %s: %w", name, err)
		}
	}
	if opts.Image != "" {
		if err := s.deployKFP(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// deployKFP loads the project's image into the nodes, deploys the KFP API stand-in from it and forwards a
// local port to it.
func (s *Stack) deployKFP(ctx context.Context) error {
	ref, err := image.RefOf(s.opts.Image)
	if err != nil {
		return fmt.Errorf("kind: %w (make image builds it)", err)
	}
	s.progress("kind: loading %s into the nodes of %s", ref, s.Cluster.Name)
	if err := s.Cluster.LoadImage(s.opts.Image); err != nil {
		return err
	}
	s.progress("kind: deploying the KFP API stand-in (%s) as %s", s.Profile.Name, KFPInClusterURL)
	if err := DeployKFPStandIn(ctx, s.kube.Kube, ref, s.Profile.Name, deployTimeout); err != nil {
		return err
	}
	rc, err := target.KubeRESTConfig(s.Cluster.Kubeconfig, "", 30*time.Second)
	if err != nil {
		return err
	}
	f, err := forward.Start(ctx, rc, s.kube.Kube, forward.Service{Namespace: KFPNamespace, Name: KFPService, Port: KFPPort}, 30*time.Second)
	if err != nil {
		return fmt.Errorf("kind: %w", err)
	}
	s.imageRef, s.kfp = ref, f
	s.progress("kind: %s forwarded to %s", KFPInClusterURL, f.URL)
	if !s.Profile.MultiUser {
		return nil
	}
	s.progress("kind: the PodDefault kind and webhook stand-in (%s.%s), the profile's PodDefaults", PodDefaultHook, KFPNamespace)
	var namespaces []string
	for _, ns := range s.Profile.KFP.Namespaces {
		namespaces = append(namespaces, ns.Name)
	}
	if err := DeployPodDefaults(ctx, s.kube.Kube, ref, namespaces, s.Profile.KFP.PodDefault, deployTimeout); err != nil {
		return err
	}
	s.admission = true
	return nil
}

func (s *Stack) progress(format string, args ...any) {
	if s.opts.Progress != nil {
		fmt.Fprintf(s.opts.Progress, format+"\n", args...)
	}
}

// Target offers the cluster (capabilities kube and pods) and the profile's multi-user expectation; nothing the
// cluster does not run.
func (s *Stack) Target() *target.Target {
	t := &target.Target{
		Name: "kind:" + s.Profile.Name, Tier: target.TierKind, Profile: s.Profile,
		Capabilities: map[string]bool{target.CapKube: true, target.CapPods: true},
		Redactor:     redact.New(), RequestTimeout: 15 * time.Second,
		Kube: s.kube.Kube, Kubeconfig: s.kube.Kubeconfig,
	}
	if s.Profile.MultiUser {
		t.Capabilities[target.CapMultiUser] = true
	}
	if s.kfp != nil {
		// The stand-in keeps runs; the probe runs from the loaded image against the in-cluster address.
		t.InClusterAPIURL = s.kfp.URL
		t.Capabilities[target.CapInCluster], t.Capabilities[target.CapRuns] = true, true
		t.ProbeImage, t.ProbeAPIURL = s.imageRef, KFPInClusterURL
	}
	if s.admission {
		t.Capabilities[target.CapAdmission] = true
	}
	// The users' namespaces only: nobody logs in while Dex and the gateway are not deployed into the cluster.
	for _, u := range s.Profile.Users {
		t.Users = append(t.Users, target.User{Email: u.Email, Username: u.Username, Connector: u.Connector, Namespace: u.Namespace})
	}
	return t
}

// Description is the target file of the cluster: its kubeconfig.
func (s *Stack) Description() *target.File {
	return &target.File{Profile: s.Profile.Name, Tier: target.TierKind, Kubeconfig: s.Cluster.Kubeconfig}
}

// Close deletes the cluster, unless asked to keep it.
func (s *Stack) Close() error {
	if s.kfp != nil {
		_ = s.kfp.Close()
		s.kfp = nil
	}
	if s.opts.Keep {
		if s.opts.Progress != nil {
			fmt.Fprintf(s.opts.Progress, "kind: kept cluster %s (kubeconfig %s); remove it with: kind delete cluster --name %s\n",
				s.Cluster.Name, s.Cluster.Kubeconfig, s.Cluster.Name)
		}
		return nil
	}
	err := s.Cluster.Delete()
	os.RemoveAll(s.dir)
	return err
}
