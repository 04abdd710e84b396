package kind

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/kfp-authcheck/kfp-authcheck/clusters"
	"github.com/kfp-authcheck/kfp-authcheck/internal/forward"
	"github.com/kfp-authcheck/kfp-authcheck/internal/image"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func init() { clusters.Register(Tier{}) }

// Tier is the kind tier: a kind cluster per profile.
type Tier struct{}

// The tier's settings.
const (
	SettingKeep  = "keep"
	SettingImage = "kind-image"
	// SettingNodeImage names the node image: one built by `make kind-node-image` where no registry is reachable.
	SettingNodeImage = "kind-node-image"
)

// Name is "kind".
func (Tier) Name() string { return target.TierKind }

// Summary says what runs.
func (Tier) Summary() string {
	return "a kind cluster per profile with the KFP API stand-in, Dex, oauth2-proxy and the gateway from images (needs a Docker engine)"
}

// Settings: --keep, --kind-image and --kind-node-image.
func (Tier) Settings() []clusters.Setting {
	return []clusters.Setting{
		{Name: SettingKeep, Bool: true, Usage: "with --tier kind: keep the clusters after the run (their names and kubeconfigs are printed)"},
		{Name: SettingImage, Usage: "with --tier kind: the project's image tarball (make image) to load into the nodes; it runs the KFP API " +
			"stand-in as ml-pipeline.kubeflow:8888, the in-cluster probe and the gateway stand-in, and dex-image.tar and " +
			"oauth2-proxy-image.tar beside it run Dex and oauth2-proxy"},
		{Name: SettingNodeImage, Usage: "with --tier kind: the node image, a name the Docker engine knows (default " + NodeImage +
			"); make kind-node-image builds one without any registry and writes its name to bin/kind-node/image"},
	}
}

// Validate checks --kind-image before any cluster is made: an image tarball, with Dex's and oauth2-proxy's beside
// it.
func (t Tier) Validate(o clusters.Options) error {
	if o.Listen != "" && o.Listen != "127.0.0.1:0" {
		return fmt.Errorf("the kind tier forwards its own loopback ports; --listen %s is for the embedded tier", o.Listen)
	}
	if n := o.Get(t, SettingNodeImage); n != "" {
		if _, err := name.ParseReference(n, name.StrictValidation); err != nil {
			return fmt.Errorf("--kind-node-image %q: not an image reference: %v (make kind-node-image writes one to bin/kind-node/image)", n, err)
		}
	}
	path := o.Get(t, SettingImage)
	if path == "" {
		return nil
	}
	if _, err := image.RefOf(path); err != nil {
		return fmt.Errorf("--kind-image: %v (make image builds bin/kfp-authcheck-image.tar)", err)
	}
	dex, proxy := LoginImageFiles(path)
	for _, f := range []string{dex, proxy} {
		if _, err := image.RefOf(f); err != nil {
			return fmt.Errorf("--kind-image: the login images are read from beside it: %v (make image builds them)", err)
		}
	}
	return nil
}

// Start makes the cluster; no Docker engine is a missing prerequisite.
func (t Tier) Start(ctx context.Context, p *profile.Profile, o clusters.Options) (clusters.Stack, error) {
	s, err := Start(ctx, p, StackOptions{Keep: o.Get(t, SettingKeep) == "true", Progress: o.Progress, Image: o.Get(t, SettingImage),
		NodeImage: o.Get(t, SettingNodeImage)})
	if errors.Is(err, ErrNoDocker) {
		return nil, &clusters.MissingError{Tier: t.Name(), What: "a Docker engine", Fix: "the e2e-kind job of .github/workflows/ci.yaml runs where one is", Err: err}
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Plan is the cluster Start would make, its addresses placeholders: the same fields Start sets, under the same
// conditions, described by the same Description.
func (t Tier) Plan(p *profile.Profile, o clusters.Options) (*clusters.Plan, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	img := o.Get(t, SettingImage)
	s := &Stack{Profile: p, Cluster: &Cluster{Kubeconfig: clusters.Placeholder("the cluster's kubeconfig")}}
	node := StackOptions{NodeImage: o.Get(t, SettingNodeImage)}.nodeImage()
	s.opts.NodeImage = node
	fixtures := []string{"a kind cluster (" + node + ") named kfp-authcheck-" + p.Name + "-<random>, deleted at the end unless --keep"}
	if p.MultiUser {
		fixtures = append(fixtures, "Kubeflow's roles and the profile's Kubeflow Profiles as RBAC")
	}
	if img != "" {
		s.imageRef = clusters.Placeholder("the image's reference")
		s.kfp = &forwardPlaceholder
		s.admission = p.MultiUser
		fixtures = append(fixtures, "the KFP API stand-in from "+img+" as "+KFPInClusterURL+", forwarded to loopback")
		if LoginUnsupported(p) == "" {
			port := "127.0.0.1:" + clusters.Placeholder("port")
			scheme := "http"
			if p.HTTPS {
				scheme = "https"
			}
			s.login = &loginState{gatewayURL: scheme + "://" + port, issuer: scheme + "://" + port + "/dex", users: p.Users,
				dexGRPC: &forwardPlaceholder}
			if p.HTTPS {
				s.login.caFile = clusters.Placeholder("the gateway's CA bundle")
			}
			fixtures = append(fixtures, "Dex, oauth2-proxy and the gateway stand-in deployed as Kubeflow names them")
		}
	}
	return &clusters.Plan{Description: s.Description(), Name: "kind:" + p.Name, Offers: target.Offers{Kube: true}, Fixtures: fixtures}, nil
}

// forwardPlaceholder stands for a port-forward a plan cannot open yet.
var forwardPlaceholder = forward.Forward{URL: "http://127.0.0.1:" + clusters.Placeholder("port")}
