package kind

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/internal/selfca"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// Where the kind tier's login pieces answer in the cluster, named as Kubeflow names them.
const (
	DexNamespace     = "auth"
	DexService       = "dex"
	DexGRPCPort      = 5557
	ProxyNamespace   = "oauth2-proxy"
	ProxyService     = "oauth2-proxy"
	GatewayNamespace = "istio-system"
	GatewayService   = "istio-ingressgateway"
	GatewayPort      = 80

	dexSecret     = "dex-config"
	proxySecret   = "oauth2-proxy-config"
	gatewaySecret = "istio-ingressgateway-certs"
	gatewayCerts  = "/etc/istio-ingressgateway/certs"
)

// LoginEndpoints are where the login pieces listen and reach each other. ClusterEndpoints gives the cluster's;
// a test of the composition on loopback gives its own.
type LoginEndpoints struct {
	// GatewayURL is the one origin the runner (browser, SDK) sees: a local port forwarded to the gateway.
	GatewayURL string
	// Dex listens on DexAddrs and is reached at DexURL (with its path); LDAPURL is the ldap connector's directory.
	DexAddrs components.DexAddrs
	DexURL   string
	LDAPURL  string
	// ProxyListen is oauth2-proxy's own address; AppsURL its upstream (the gateway's apps side).
	ProxyListen string
	AppsURL     string
}

// ClusterEndpoints are the cluster's addresses, the gateway seen at gatewayURL.
func ClusterEndpoints(gatewayURL string) LoginEndpoints {
	return LoginEndpoints{
		GatewayURL:  gatewayURL,
		DexAddrs:    components.DexAddrs{Web: "0.0.0.0:5556", GRPC: "0.0.0.0:5557", Telemetry: "0.0.0.0:5558"},
		DexURL:      "http://dex.auth.svc.cluster.local:5556/dex",
		LDAPURL:     "ldap://127.0.0.1:3890", // ldap-directory beside Dex in its pod (kind-dex.yaml)
		ProxyListen: "0.0.0.0:4180",
		AppsURL:     "http://istio-ingressgateway.istio-system.svc.cluster.local:8081/",
	}
}

// Login is the configuration of a profile's Dex and oauth2-proxy for a gateway origin.
type Login struct {
	Issuer string
	// Dex is Dex's config file, OAuth2Proxy oauth2-proxy's (both hold secrets: they go into Secrets).
	Dex         []byte
	OAuth2Proxy string
	// Users are the profile's users with their passwords; Secrets are the values to redact.
	Users   []profile.User
	Secrets []string
}

// BuildLogin configures the profile's Dex and oauth2-proxy with the local tier's builders, for the endpoints e:
// Dex's issuer is the gateway origin's /dex, which the runner reaches, and oauth2-proxy skips discovery and
// redeems and reads keys at Dex's own address, as Kubeflow's does.
func BuildLogin(p *profile.Profile, e LoginEndpoints) (*Login, error) {
	if reason := LoginUnsupported(p); reason != "" {
		return nil, fmt.Errorf("kind: %s", reason)
	}
	l := &Login{Issuer: strings.TrimSuffix(e.GatewayURL, "/") + "/dex", Users: components.UsersWithPasswords(p.Users, nil)}
	conns := map[string]json.RawMessage{}
	for _, c := range p.Dex.Connectors {
		if c.Type == "ldap" {
			cfg, err := components.LDAPConnectorConfig(p.Dex.LDAP, e.LDAPURL)
			if err != nil {
				return nil, fmt.Errorf("kind: connector %s: %w", c.ID, err)
			}
			conns[c.ID] = cfg
			l.Secrets = append(l.Secrets, p.Dex.LDAP.BindPW)
		}
	}
	dex, err := components.DexConfig(p, l.Issuer, e.GatewayURL, l.Users, e.DexAddrs, conns)
	if err != nil {
		return nil, fmt.Errorf("kind: %w", err)
	}
	if l.Dex, err = json.MarshalIndent(dex, "", "  "); err != nil {
		return nil, err
	}
	l.Secrets = append(l.Secrets, p.Gateway.ClientSecret)
	for _, u := range l.Users {
		l.Secrets = append(l.Secrets, u.Password)
	}
	if p.Gateway.Kind != "oauth2-proxy" {
		return l, nil // the gateway stand-in is the whole gateway: no oauth2-proxy to configure
	}
	cookie, err := components.NewCookieSecret()
	if err != nil {
		return nil, err
	}
	l.OAuth2Proxy, err = components.OAuth2ProxyConfig(p, components.ProxyEndpoints{Listen: e.ProxyListen, GatewayURL: e.GatewayURL,
		IssuerURL: l.Issuer, DexDirect: e.DexURL, Upstream: e.AppsURL}, cookie)
	if err != nil {
		return nil, fmt.Errorf("kind: %w", err)
	}
	l.Secrets = append(l.Secrets, cookie)
	return l, nil
}

// LoginUnsupported says why the kind tier cannot deploy the profile's login pieces ("" when it can): a profile
// without a gateway (standalone) has none.
func LoginUnsupported(p *profile.Profile) string {
	if p.Gateway == nil || p.Dex == nil {
		return fmt.Sprintf("profile %s has no gateway and no Dex", p.Name)
	}
	return ""
}

// GatewayStandIn says, for a gateway with no real program here (oidc-authservice), that the gateway stand-in
// plays it; "" for oauth2-proxy, which runs for real.
func GatewayStandIn(p *profile.Profile) string {
	if p.Gateway == nil || p.Gateway.Kind == "oauth2-proxy" {
		return ""
	}
	return p.Gateway.Kind + " (the project's stand-in, in the gateway: no real program here)"
}

// LoginImages are the images the login pieces run (already in the nodes).
type LoginImages struct{ Harness, Dex, OAuth2Proxy string }

// LoginObjects are the objects that deploy l in the cluster: Dex (with the fixture directory beside it), oauth2-proxy
// and the gateway, their configs as Secrets; with tls (an https profile) the gateway serves that certificate.
func LoginObjects(p *profile.Profile, l *Login, img LoginImages, tls *selfca.Bundle) ([]runtime.Object, error) {
	var out []runtime.Object
	add := func(file string, vars map[string]string, secrets ...*corev1.Secret) error {
		objs, err := Objects(file, vars)
		if err != nil {
			return err
		}
		// The namespace first, then the Secrets the Deployment mounts, then the rest.
		out = append(out, objs[0])
		for _, s := range secrets {
			out = append(out, s)
		}
		out = append(out, objs[1:]...)
		return nil
	}
	secret := func(ns, name string, data map[string][]byte, typ corev1.SecretType) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Type: typ, Data: data}
	}
	if err := add(dexManifest, map[string]string{"DEX_IMAGE": img.Dex, "IMAGE": img.Harness},
		secret(DexNamespace, dexSecret, map[string][]byte{"config.yaml": l.Dex}, corev1.SecretTypeOpaque)); err != nil {
		return nil, err
	}
	if l.OAuth2Proxy != "" {
		if err := add(oauth2ProxyManifest, map[string]string{"OAUTH2_PROXY_IMAGE": img.OAuth2Proxy},
			secret(ProxyNamespace, proxySecret, map[string][]byte{"oauth2_proxy.cfg": []byte(l.OAuth2Proxy)}, corev1.SecretTypeOpaque)); err != nil {
			return nil, err
		}
	}
	var certs []*corev1.Secret
	if tls != nil {
		certs = append(certs, secret(GatewayNamespace, gatewaySecret,
			map[string][]byte{corev1.TLSCertKey: tls.CertPEM, corev1.TLSPrivateKeyKey: tls.KeyPEM}, corev1.SecretTypeTLS))
	}
	n := len(out)
	if err := add(gatewayManifest, map[string]string{"IMAGE": img.Harness, "PROFILE": p.Name, "ISSUER": l.Issuer}, certs...); err != nil {
		return nil, err
	}
	for _, o := range out[n:] {
		d, ok := o.(*appsv1.Deployment)
		if !ok {
			continue
		}
		if tls != nil {
			serveTLS(d)
		}
		if l.OAuth2Proxy == "" { // the stand-in is the gateway: no oauth2-proxy to name
			d.Spec.Template.Spec.Containers[0].Args = withoutFlag(d.Spec.Template.Spec.Containers[0].Args, "--oauth2-proxy")
		}
	}
	return out, nil
}

// withoutFlag drops a flag and its value from args.
func withoutFlag(args []string, flag string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == flag {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// serveTLS gives the gateway's Deployment its certificate: the Secret mounted and the TLS flags.
func serveTLS(d *appsv1.Deployment) {
	spec := &d.Spec.Template.Spec
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "certs",
		VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: gatewaySecret}}})
	c := &spec.Containers[0]
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "certs", MountPath: gatewayCerts, ReadOnly: true})
	c.Args = append(c.Args, "--tls-cert-file", gatewayCerts+"/"+corev1.TLSCertKey, "--tls-key-file", gatewayCerts+"/"+corev1.TLSPrivateKeyKey)
}

// DeployLogin creates objs and waits, at most timeout each, for their Deployments (Dex, oauth2-proxy where
// there is one, the gateway) to be available.
func DeployLogin(ctx context.Context, c kubernetes.Interface, objs []runtime.Object, timeout time.Duration) error {
	if err := CreateObjects(ctx, c, objs, metav1.CreateOptions{}); err != nil {
		return err
	}
	for _, o := range objs {
		if d, ok := o.(*appsv1.Deployment); ok {
			if err := WaitAvailable(ctx, c, d.Namespace, d.Name, timeout); err != nil {
				return err
			}
		}
	}
	return nil
}

// splice accepts on lis and joins each connection to the address to, until lis is closed: the gateway's origin is
// a port chosen before Dex's issuer is written, the port-forward's own port is chosen by client-go after.
func splice(lis net.Listener, to string) {
	for {
		c, err := lis.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.DialTimeout("tcp", to, 5*time.Second)
			if err != nil {
				return
			}
			defer u.Close()
			done := make(chan struct{}, 2)
			go func() { copyClose(u, c); done <- struct{}{} }()
			go func() { copyClose(c, u); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}

// copyClose copies src to dst, then half-closes dst so the other side sees the end.
func copyClose(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		return
	}
	_ = dst.Close()
}
