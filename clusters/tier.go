// Package clusters starts the stack of a profile on a tier (embedded: in-process stand-ins; local: the real
// programs on loopback; kind: a kind cluster, where Docker runs) behind one interface, so the command and the suites treat every tier alike.
package clusters

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/kind"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/local"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// Stack is a running stack on some tier.
type Stack interface {
	Target() *target.Target
	Description() *target.File
	Close() error
}

// Logged is a stack whose programs keep logs (the local tier): their tails go into failed results.
type Logged interface {
	LogTails(n int) string
}

// Options tune a stack whatever its tier.
type Options struct {
	// Listen is the embedded gateway's listen address (the local tier always picks a free loopback port).
	Listen string
	// Kube starts a real kube-apiserver on the local tier (capability kube-apiserver); ignored on embedded.
	Kube bool
	// Progress gets a line per program as the local tier starts it, and kind's lines.
	Progress io.Writer
	// Keep leaves a kind cluster running after the run.
	Keep bool
	// KindImage is the project's image tarball the kind tier loads and runs the KFP API stand-in, the probe and
	// the gateway stand-in from, with Dex's and oauth2-proxy's beside it (kind.LoginImageFiles); empty: no KFP API
	// and no login in the kind cluster.
	KindImage string
	// KFP is the local tier's KFP API: local.KFPStandIn, local.KFPReal (the real KFP API server, with
	// kube-apiserver) or local.KFPRealNoMesh; "" takes $KFP_AUTHCHECK_LOCAL_KFP, else the stand-in. The embedded tier has the stand-in only.
	KFP string
}

// Tiers that can start a stack here.
func Tiers() []string { return []string{target.TierEmbedded, target.TierLocal, target.TierKind} }

// CheckTier returns a usage-ready error for a tier this build cannot start.
func CheckTier(tier string) error {
	for _, t := range Tiers() {
		if t == tier {
			return nil
		}
	}
	return fmt.Errorf("tier %q: want one of %s (a live deployment is reached with --target)", tier, strings.Join(Tiers(), ", "))
}

// Start brings up profile p on tier. On error the Stack is nil (never a typed nil inside the interface).
func Start(ctx context.Context, tier string, p *profile.Profile, opts Options) (Stack, error) {
	switch tier {
	case target.TierEmbedded:
		if opts.KFP == local.KFPReal || opts.KFP == local.KFPRealNoMesh {
			return nil, fmt.Errorf("the real KFP API server runs on the local tier only")
		}
		return started(embedded.Start(ctx, p, embedded.Options{Listen: opts.Listen}))
	case target.TierLocal:
		if opts.Listen != "" && opts.Listen != "127.0.0.1:0" {
			return nil, fmt.Errorf("the local tier picks its own loopback ports; --listen %s is for the embedded tier", opts.Listen)
		}
		kfp := opts.KFP
		if kfp == "" {
			var err error
			if kfp, err = local.KFPFromEnv(); err != nil {
				return nil, err
			}
		}
		return started(local.Start(ctx, p, local.Options{Kube: opts.Kube, KFP: kfp, Progress: opts.Progress}))
	case target.TierKind:
		return started(kind.Start(ctx, p, kind.StackOptions{Keep: opts.Keep, Progress: opts.Progress, Image: opts.KindImage}))
	}
	return nil, CheckTier(tier)
}

func started[S Stack](s S, err error) (Stack, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

// NeedsKube reports whether the local tier should start etcd and kube-apiserver for profile p to run list: when
// the profile is multi-user (only there does the KFP API authorize through Kubernetes) and some check needs a
// Kubernetes API (the SA, RBAC and ISO families). It costs a few seconds per profile, in parallel with the other
// profiles (docs/fidelity.md has the figures), so `run --tier local` over the whole catalogue always pays it and
// a run of other families never does.
func NeedsKube(p *profile.Profile, list []*checks.Check) bool {
	if !p.MultiUser {
		return false
	}
	for _, c := range list {
		for _, n := range c.Needs {
			if n == target.CapKube || n == local.CapKubeAPI {
				return true
			}
		}
	}
	return false
}

// Programs describes what runs in a stack beyond the harness (the local tier's programs and their pins).
func Programs(s Stack) string {
	if l, ok := s.(*local.Stack); ok {
		return l.VersionList()
	}
	if k, ok := s.(*kind.Stack); ok {
		return k.VersionList()
	}
	return "in-process stand-ins"
}
