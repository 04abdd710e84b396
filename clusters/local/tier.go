package local

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/kfp-authcheck/kfp-authcheck/clusters"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func init() { clusters.Register(Tier{}) }

// Tier is the local tier: the real programs on loopback.
type Tier struct{}

// SettingKFP names the tier's one setting: which KFP API runs.
const SettingKFP = "kfp"

// Name is "local".
func (Tier) Name() string { return target.TierLocal }

// Summary says what runs.
func (Tier) Summary() string {
	return "the real Dex, oauth2-proxy, etcd, kube-apiserver and kube-controller-manager on loopback (make tools builds them)"
}

// Settings: --kfp.
func (Tier) Settings() []clusters.Setting {
	return []clusters.Setting{{Name: SettingKFP, Usage: "on --tier local, the KFP API: " + KFPStandIn + ", " + KFPReal +
		" (the real KFP API server with MariaDB, built by make tools) or " + KFPRealNoMesh +
		" (its in-cluster address without the Istio policy stand-in); default $" + KFPEnv + ", else " + KFPStandIn}}
}

// Validate checks --kfp (or $KFP_AUTHCHECK_LOCAL_KFP) and refuses a fixed listen address: the tier picks its own
// loopback ports.
func (t Tier) Validate(o clusters.Options) error {
	if o.Listen != "" && o.Listen != "127.0.0.1:0" {
		return fmt.Errorf("the local tier picks its own loopback ports; --listen %s is for the embedded tier", o.Listen)
	}
	_, err := t.kfp(o)
	return err
}

func (t Tier) kfp(o clusters.Options) (string, error) {
	if v := o.Get(t, SettingKFP); v != "" {
		if err := checkKFP(v); err != nil {
			return "", fmt.Errorf("--kfp %s: want %s, %s or %s", v, KFPStandIn, KFPReal, KFPRealNoMesh)
		}
		return v, nil
	}
	return KFPFromEnv()
}

// needsKube says whether the stack starts etcd and kube-apiserver for p: when the profile is multi-user (only
// there does the KFP API authorize through Kubernetes) and some check of the run needs a Kubernetes API (the SA,
// RBAC and ISO families), or the real KFP API server runs (it needs one). It costs a few seconds per profile, in
// parallel with the other profiles (docs/fidelity.md has the figures), so a run over the whole catalogue always
// pays it and a run of other families never does.
func needsKube(p *profile.Profile, needs []target.Capability, kfp string) bool {
	if kfp == KFPReal || kfp == KFPRealNoMesh {
		return true
	}
	return p.MultiUser && (needs == nil || slices.Contains(needs, target.CapKube) || slices.Contains(needs, target.CapKubeAPI))
}

// Start brings the stack up; programs not built and MariaDB not installed are missing prerequisites.
func (t Tier) Start(ctx context.Context, p *profile.Profile, o clusters.Options) (clusters.Stack, error) {
	kfp, err := t.kfp(o)
	if err != nil {
		return nil, err
	}
	s, err := Start(ctx, p, Options{Kube: needsKube(p, o.Needs, kfp), KFP: kfp, Progress: o.Progress})
	switch {
	case errors.Is(err, ErrToolsMissing):
		return nil, &clusters.MissingError{Tier: t.Name(), What: "the real programs built from their pins", Fix: "run `make tools`", Err: err}
	case errors.Is(err, ErrMariaDBMissing):
		return nil, &clusters.MissingError{Tier: t.Name(), What: "MariaDB's server for the real KFP API server", Fix: "run `make mariadb`", Err: err}
	case err != nil:
		return nil, err
	}
	return s, nil
}

// Plan is the stack Start would bring up, its addresses placeholders: the same fields Start sets, under the
// same conditions, described by the same Description.
func (t Tier) Plan(p *profile.Profile, o clusters.Options) (*clusters.Plan, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	kfp, err := t.kfp(o)
	if err != nil {
		return nil, err
	}
	port := "127.0.0.1:" + clusters.Placeholder("port")
	scheme := "http"
	if p.HTTPS {
		scheme = "https"
	}
	s := &Stack{Profile: p, GatewayURL: scheme + "://" + port, InClusterAPIURL: "http://" + port}
	s.PipelineURL, s.IssuerURL = s.GatewayURL+"/pipeline", s.GatewayURL+"/dex"
	if p.KFP.UIPolicy != "" {
		s.InClusterUIURL = "http://" + port
	}
	if p.Gateway != nil {
		s.DexGRPCAddr = port
	}
	if p.HTTPS {
		s.CAFile = clusters.Placeholder("the stack's CA bundle")
	}
	kube := needsKube(p, o.Needs, kfp)
	if kube {
		s.Kube = &Kube{Kubeconfig: clusters.Placeholder("kube-apiserver's admin kubeconfig")}
		s.kube = &kubeWiring{admission: p.MultiUser}
		s.meshed = p.Gateway != nil && p.Gateway.Mesh != nil && p.Gateway.Kind == "oauth2-proxy"
	}
	if kfp == KFPReal || kfp == KFPRealNoMesh {
		s.kfp = &kfpBackend{noMesh: kfp == KFPRealNoMesh}
	}
	s.Users = components.UsersWithPasswords(p.Users, nil)
	return &clusters.Plan{Description: s.Description(), Name: "local:" + p.Name,
		Offers: target.Offers{Kube: kube}, Fixtures: planFixtures(p, kube, kfp)}, nil
}

func planFixtures(p *profile.Profile, kube bool, kfp string) []string {
	var out []string
	if p.Gateway != nil && p.Dex != nil {
		out = append(out, fmt.Sprintf("the real Dex %s on loopback, %d user(s) provisioned through its gRPC API", p.Dex.Version, len(p.Users)))
		if p.Gateway.Kind == "oauth2-proxy" {
			out = append(out, "the real oauth2-proxy "+p.Gateway.Version+" behind the ingress stand-in")
		} else {
			out = append(out, "the project's "+p.Gateway.Kind+" stand-in in front of the real Dex (no real program of it builds here)")
		}
	}
	if kube {
		out = append(out, "etcd, kube-apiserver and kube-controller-manager on loopback, with Kubeflow's roles and the profile's Kubeflow Profiles as RBAC")
	}
	switch kfp {
	case KFPReal, KFPRealNoMesh:
		out = append(out, "the real KFP API server with MariaDB and an S3 stand-in ("+kfp+")")
	default:
		out = append(out, "the KFP API stand-in "+p.KFP.Version)
	}
	return append(out, "every program stops and its directory is removed when the run ends")
}
