package embedded

import (
	"context"
	"fmt"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/clusters"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func init() { clusters.Register(Tier{}) }

// Tier is the embedded tier: every component an in-process stand-in on loopback.
type Tier struct{}

// Name is "embedded".
func (Tier) Name() string { return target.TierEmbedded }

// Summary says what runs.
func (Tier) Summary() string {
	return "in-process stand-ins of Dex, the gateway, the KFP API and Kubernetes on loopback; nothing to install"
}

// Settings: none beyond the common --listen.
func (Tier) Settings() []clusters.Setting { return nil }

// Validate accepts any listen address (Start reports one it cannot bind).
func (Tier) Validate(clusters.Options) error { return nil }

// Start brings the stack up.
func (Tier) Start(ctx context.Context, p *profile.Profile, o clusters.Options) (clusters.Stack, error) {
	s, err := Start(ctx, p, Options{Listen: o.Listen})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Plan is the stack Start would bring up, its addresses placeholders: the same fields Start sets, under the
// same conditions, described by the same Description.
func (Tier) Plan(p *profile.Profile, o clusters.Options) (*clusters.Plan, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	scheme := "http"
	if p.HTTPS {
		scheme = "https"
	}
	host := "127.0.0.1:" + clusters.Placeholder("port chosen at start")
	if o.Listen != "" && !strings.HasSuffix(o.Listen, ":0") {
		host = o.Listen
	}
	s := &Stack{Profile: p, GatewayURL: scheme + "://" + host, InClusterAPIURL: "http://127.0.0.1:" + clusters.Placeholder("port")}
	s.PipelineURL, s.IssuerURL = s.GatewayURL+"/pipeline", s.GatewayURL+"/dex"
	if p.KFP.UIPolicy != "" {
		s.InClusterUIURL = "http://127.0.0.1:" + clusters.Placeholder("port")
	}
	if p.Gateway != nil {
		s.DexGRPCAddr = "127.0.0.1:" + clusters.Placeholder("port")
	}
	if p.HTTPS {
		s.CAFile = clusters.Placeholder("the stack's CA bundle")
	}
	if p.MultiUser {
		s.Kubeconfig = clusters.Placeholder("the Kubernetes stand-in's kubeconfig")
	}
	s.Users = components.UsersWithPasswords(p.Users, nil)
	return &clusters.Plan{Description: s.Description(), Name: "embedded:" + p.Name,
		Offers: target.Offers{Kube: p.MultiUser, Clock: true}, Fixtures: planFixtures(p)}, nil
}

func planFixtures(p *profile.Profile) []string {
	parts := []string{"KFP API stand-in " + p.KFP.Version}
	if p.Dex != nil {
		parts = append([]string{"Dex stand-in " + p.Dex.Version}, parts...)
	}
	if p.Gateway != nil {
		parts = append([]string{p.Gateway.Kind + " stand-in " + p.Gateway.Version}, parts...)
	}
	out := []string{"an in-process stack on loopback (free ports): " + strings.Join(parts, ", ")}
	if p.MultiUser {
		out = append(out, fmt.Sprintf("a Kubernetes stand-in holding Kubeflow's roles and %d Kubeflow Profile(s) as RBAC", len(p.KFP.Namespaces)))
	}
	if p.Dex != nil {
		out = append(out, fmt.Sprintf("%d user(s) and %d extra client(s) provisioned through Dex's gRPC API", len(p.Users), len(p.Dex.Clients)))
	}
	return append(out, "everything stops when the run ends")
}
