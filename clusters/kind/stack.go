package kind

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/internal/forward"
	"github.com/kfp-authcheck/kfp-authcheck/internal/image"
	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
	"github.com/kfp-authcheck/kfp-authcheck/internal/selfca"
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
	// as ml-pipeline.kubeflow:8888 and the probe. Empty: no KFP API in the cluster. For a profile with a gateway,
	// the images of the pinned Dex and oauth2-proxy are read from beside it (LoginImageFiles) and the login pieces
	// deployed with the gateway stand-in from Image.
	Image string
	// NodeImage is the kind node image (empty: NodeImage, the pinned kind release's).
	NodeImage string
}

func (o StackOptions) nodeImage() string {
	if o.NodeImage == "" {
		return NodeImage
	}
	return o.NodeImage
}

// LoginImageFiles are the tarballs of Dex's and oauth2-proxy's images `make image` writes beside the project's.
func LoginImageFiles(image string) (dex, oauth2Proxy string) {
	dir := filepath.Dir(image)
	return filepath.Join(dir, "dex-image.tar"), filepath.Join(dir, "oauth2-proxy-image.tar")
}

// deployTimeout bounds the KFP API stand-in's Deployment becoming available (the image is already in the nodes).
const deployTimeout = 3 * time.Minute

// Stack is a kind cluster made for one profile: the Kubernetes side (RBAC, TokenRequest, TokenReview,
// SubjectAccessReview, kubelets), the profile's Profiles as RBAC, and with StackOptions.Image the project's KFP API
// stand-in as ml-pipeline.kubeflow:8888 (reached from here through a port-forward), the probe's image and, for a
// multi-user profile, the PodDefault webhook stand-in with the profile's PodDefaults, and, for a profile with a
// gateway, the pinned Dex and oauth2-proxy (or the oidc-authservice stand-in) behind the ingress gateway stand-in,
// reached from here through a port-forward at the issuer's origin (login.go).
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
	// login is the deployed Dex, oauth2-proxy and gateway; loginSkipped says why not, where not.
	login        *loginState
	loginSkipped string
	redactor     *redact.Redactor
	versions     []string
}

// loginState is how the runner reaches the login pieces.
type loginState struct {
	gatewayURL, issuer string
	users              []profile.User
	tls                *tls.Config
	caFile             string
	lis                net.Listener
	gateway, dexGRPC   *forward.Forward
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
		fmt.Fprintf(opts.Progress, "kind: creating cluster %s (%s)\n", name, opts.nodeImage())
	}
	began := time.Now()
	c, err := Create(Options{Name: name, Dir: dir, Log: opts.Progress, NodeImage: opts.NodeImage})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Stack{Profile: p, Cluster: c, dir: dir, opts: opts, redactor: redact.New()}
	s.phase("cluster up", began)
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
		if err := components.ApplyProfileRBAC(actx, kube, p); err != nil {
			s.Close()
			return nil, fmt.Errorf("kind: the profile's RBAC in %s: %w", name, err)
		}
	}
	if opts.Image != "" {
		began = time.Now()
		if err := s.deployKFP(ctx); err != nil {
			s.Close()
			return nil, err
		}
		s.phase("KFP stand-in and PodDefaults deployed", began)
		began = time.Now()
		if err := s.deployLogin(ctx); err != nil {
			s.Close()
			return nil, err
		}
		s.phase("Dex, oauth2-proxy and the gateway deployed and routable", began)
	} else {
		s.loginSkipped = "no --kind-image: nothing to run Dex, oauth2-proxy and the gateway from"
	}
	return s, nil
}

// deployLogin deploys the profile's Dex (with the fixture directory beside it), oauth2-proxy and the gateway stand-in
// and forwards the issuer's origin, a local port chosen first, to the gateway.
func (s *Stack) deployLogin(ctx context.Context) (err error) {
	p := s.Profile
	if reason := LoginUnsupported(p); reason != "" {
		s.loginSkipped = reason
		s.progress("kind: Dex and the gateway not deployed: %s", reason)
		return nil
	}
	dexTar, proxyTar := LoginImageFiles(s.opts.Image)
	dexRef, err := image.RefOf(dexTar)
	if err != nil {
		return fmt.Errorf("kind: Dex's image: %w (make image builds it)", err)
	}
	proxyRef, err := image.RefOf(proxyTar)
	if err != nil {
		return fmt.Errorf("kind: oauth2-proxy's image: %w (make image builds it)", err)
	}
	load := []struct{ ref, file string }{{dexRef, dexTar}}
	if GatewayStandIn(p) == "" {
		load = append(load, struct{ ref, file string }{proxyRef, proxyTar})
	}
	for _, t := range load {
		s.progress("kind: loading %s into the nodes of %s", t.ref, s.Cluster.Name)
		if err := s.Cluster.LoadImage(t.file); err != nil {
			return err
		}
	}
	ls := &loginState{tls: &tls.Config{MinVersion: tls.VersionTLS12}}
	if ls.lis, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return fmt.Errorf("kind: the gateway's local port: %w", err)
	}
	s.login = ls // Close stops what is started from here on
	scheme := "http"
	var bundle *selfca.Bundle
	if p.HTTPS {
		if bundle, err = selfca.New(); err != nil {
			return err
		}
		scheme, ls.tls.RootCAs = "https", bundle.Pool
		ls.caFile = filepath.Join(s.dir, "ca.pem")
		if err := os.WriteFile(ls.caFile, bundle.CAPEM, 0o644); err != nil {
			return fmt.Errorf("kind: write the gateway's CA: %w", err)
		}
	}
	ls.gatewayURL = scheme + "://" + ls.lis.Addr().String()
	l, err := BuildLogin(p, ClusterEndpoints(ls.gatewayURL))
	if err != nil {
		return err
	}
	for _, sec := range l.Secrets {
		s.redactor.Add(sec)
	}
	ls.issuer, ls.users = l.Issuer, l.Users
	objs, err := LoginObjects(p, l, LoginImages{Harness: s.imageRef, Dex: dexRef, OAuth2Proxy: proxyRef}, bundle)
	if err != nil {
		return err
	}
	s.progress("kind: deploying Dex (%s), %s and the gateway stand-in, issuer %s", dexRef,
		map[bool]string{true: "oauth2-proxy (" + proxyRef + ")", false: "no oauth2-proxy (" + GatewayStandIn(p) + ")"}[GatewayStandIn(p) == ""], ls.issuer)
	if err := DeployLogin(ctx, s.kube.Kube, objs, deployTimeout); err != nil {
		return err
	}
	rc, err := target.KubeRESTConfig(s.Cluster.Kubeconfig, "", 30*time.Second)
	if err != nil {
		return err
	}
	if ls.gateway, err = forward.Start(ctx, rc, s.kube.Kube, forward.Service{Namespace: GatewayNamespace, Name: GatewayService, Port: GatewayPort}, 30*time.Second); err != nil {
		return fmt.Errorf("kind: %w", err)
	}
	go splice(ls.lis, strings.TrimPrefix(ls.gateway.URL, "http://"))
	if err := waitRoutable(ctx, ls, p, routeTimeout); err != nil {
		return fmt.Errorf("kind: %w", err)
	}
	if ls.dexGRPC, err = forward.Start(ctx, rc, s.kube.Kube, forward.Service{Namespace: DexNamespace, Name: DexService, Port: DexGRPCPort}, 30*time.Second); err != nil {
		return fmt.Errorf("kind: %w", err)
	}
	s.versions = append(s.versions, "dex "+dexRef)
	if standIn := GatewayStandIn(p); standIn != "" {
		s.versions = append(s.versions, "gateway: "+standIn)
	} else {
		s.versions = append(s.versions, "oauth2-proxy "+proxyRef, "gateway: the project's ingress stand-in (kfp-authcheck component gateway)")
	}
	s.progress("kind: the gateway at %s (forwarded to %s/%s), Dex's gRPC API at %s", ls.gatewayURL, GatewayNamespace, GatewayService,
		strings.TrimPrefix(ls.dexGRPC.URL, "http://"))
	return nil
}

// routeTimeout bounds waitRoutable.
const routeTimeout = 2 * time.Minute

// waitRoutable waits until the gateway reaches Dex and the login's start through their Services: Deployments are
// available before kube-proxy has the Services' rules (on a busy machine, seconds later), and a login started
// in between meets the gateway's 502, or worse, a connection that left the node untranslated.
func waitRoutable(ctx context.Context, ls *loginState, p *profile.Profile, timeout time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: ls.tls},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	paths := []string{"/dex/.well-known/openid-configuration"}
	if p.Gateway != nil && p.Gateway.StartPath != "" {
		paths = append(paths, p.Gateway.StartPath)
	}
	last := ""
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		for _, path := range paths {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, ls.gatewayURL+path, nil)
			if err != nil {
				return false, err
			}
			resp, err := client.Do(req)
			if err != nil {
				last = path + ": " + err.Error()
				return false, nil
			}
			resp.Body.Close()
			if resp.StatusCode >= 500 || (path == paths[0] && resp.StatusCode != http.StatusOK) {
				last = fmt.Sprintf("%s: %d", path, resp.StatusCode)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("the gateway did not reach Dex and the login's start within %s (last: %s)", timeout, last)
	}
	return nil
}

func (ls *loginState) close() {
	if ls.lis != nil {
		ls.lis.Close()
	}
	for _, f := range []*forward.Forward{ls.gateway, ls.dexGRPC} {
		if f != nil {
			_ = f.Close()
		}
	}
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

// phase prints how long a phase of the cluster's life took, for make e2e-kind's figures.
func (s *Stack) phase(what string, began time.Time) {
	s.progress("kind: %s: %s in %.1fs", s.Cluster.Name, what, time.Since(began).Seconds())
}

func (s *Stack) progress(format string, args ...any) {
	if s.opts.Progress != nil {
		fmt.Fprintf(s.opts.Progress, format+"\n", args...)
	}
}

// Target is the stack as checks see it: its description and handles through the one Target builder (the
// cluster's kube and pods, the profile's multi-user expectation, and nothing the cluster does not run).
func (s *Stack) Target() *target.Target {
	t, _ := target.New(s.Description(), s.Handles())
	return t
}

// Handles are the cluster's client, the trust of the gateway's CA where the login pieces run, and the redactor
// that knows the deployed secrets.
func (s *Stack) Handles() target.Handles {
	h := target.Handles{Name: "kind:" + s.Profile.Name, Profile: s.Profile, Kube: s.kube.Kube, Redactor: s.redactor}
	if s.login != nil {
		h.TLS = s.login.tls
	}
	return h
}

// LoginAccess is how the runner reaches deployed login pieces.
type LoginAccess struct {
	GatewayURL, Issuer, DexGRPCAddr string
	// CAFile holds the CA the gateway's certificate chains to, "" for http.
	CAFile string
	Users  []profile.User
}

// DescribeLogin puts the login pieces a into the description f: the gateway (pipeline UI under /pipeline), the
// issuer, Dex's gRPC API, the CA, the users with their passwords and the OOB client where the profile has it.
func DescribeLogin(f *target.File, p *profile.Profile, a LoginAccess) {
	f.GatewayURL, f.PipelineURL, f.IssuerURL, f.DexGRPCAddr = a.GatewayURL, a.GatewayURL+"/pipeline", a.Issuer, a.DexGRPCAddr
	if a.CAFile != "" {
		f.TLS = &target.TLSConfig{CAFile: a.CAFile}
	}
	f.Users = nil
	components.DescribeUsers(f, p, a.Users)
}

// VersionList says what runs in the cluster beyond the harness's own image.
func (s *Stack) VersionList() string {
	out := append([]string{"kind node " + s.opts.nodeImage()}, s.versions...)
	if s.loginSkipped != "" {
		out = append(out, "no Dex or gateway: "+s.loginSkipped)
	}
	return strings.Join(out, ", ")
}

// Description is the target file of the cluster: its kubeconfig, the in-cluster KFP API and the probe's image
// where the image runs it, and where Dex and the gateway are deployed, the gateway's forwarded origin, the issuer
// and the users (the CA in the stack's directory for an https profile). Without the login pieces only the users'
// namespaces are described (no passwords: nobody logs in). It declares what its addresses cannot show: admission
// where the PodDefault webhook runs, and no runs without the KFP stand-in.
func (s *Stack) Description() *target.File {
	f := &target.File{Profile: s.Profile.Name, Tier: target.TierKind, Kubeconfig: s.Cluster.Kubeconfig}
	declared := target.CapabilitySet{}
	if s.kfp != nil {
		// The stand-in keeps runs; the probe runs from the loaded image against the in-cluster address.
		f.InClusterAPIURL = s.kfp.URL
		f.ProbeImage, f.ProbeAPIURL = s.imageRef, KFPInClusterURL
	} else {
		declared[target.CapRuns] = false
	}
	if s.admission {
		declared[target.CapAdmission] = true
	}
	f.Capabilities = declared
	if s.login == nil {
		for _, u := range s.Profile.Users {
			f.Users = append(f.Users, target.UserSpec{Email: u.Email, Username: u.Username, Connector: u.Connector, Namespace: u.Namespace})
		}
		return f
	}
	l := s.login
	DescribeLogin(f, s.Profile, LoginAccess{GatewayURL: l.gatewayURL, Issuer: l.issuer,
		DexGRPCAddr: strings.TrimPrefix(l.dexGRPC.URL, "http://"), CAFile: l.caFile, Users: l.users})
	return f
}

// Close deletes the cluster, unless asked to keep it.
func (s *Stack) Close() error {
	if s.login != nil {
		s.login.close()
	}
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
	began := time.Now()
	err := s.Cluster.Delete()
	os.RemoveAll(s.dir)
	if err == nil {
		s.phase("cluster deleted", began)
	}
	return err
}
