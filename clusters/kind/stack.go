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
}

// Stack is a kind cluster made for one profile. Today it holds the Kubernetes side only (RBAC, TokenRequest,
// TokenReview, SubjectAccessReview, kubelets): the profile's Dex, gateway and KFP API are not deployed into it
// yet, so the checks that need them are n/a with that reason, never failed.
type Stack struct {
	Profile *profile.Profile
	Cluster *Cluster
	dir     string
	opts    StackOptions
	kube    target.Target
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
	return s, nil
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
