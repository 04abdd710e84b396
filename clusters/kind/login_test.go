package kind

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/kfp-authcheck/kfp-authcheck/internal/forward"
	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
	"github.com/kfp-authcheck/kfp-authcheck/internal/selfca"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func mustProfile(t *testing.T, name string) *profile.Profile {
	t.Helper()
	p, err := profile.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoginUnsupported: every profile with a gateway gets its login pieces in kind (oidc-authservice as the
// gateway stand-in); standalone says why not, in a sentence the run prints.
func TestLoginUnsupported(t *testing.T) {
	if got := GatewayStandIn(mustProfile(t, "kubeflow-1.8")); !strings.Contains(got, "oidc-authservice (the project's stand-in") {
		t.Errorf("kubeflow-1.8's gateway: %q", got)
	}
	if got := GatewayStandIn(mustProfile(t, "kubeflow")); got != "" {
		t.Errorf("kubeflow's gateway: %q, want the real oauth2-proxy", got)
	}
	for name, want := range map[string]string{"kubeflow": "", "deploykf": "", "standalone": "no gateway", "kubeflow-1.8": ""} {
		got := LoginUnsupported(mustProfile(t, name))
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
		if got != "" {
			if _, err := BuildLogin(mustProfile(t, name), ClusterEndpoints("http://127.0.0.1:1")); err == nil {
				t.Errorf("%s: BuildLogin without an error", name)
			}
		}
	}
}

// TestBuildLoginForTheCluster: the issuer is the forwarded origin's /dex; Dex listens on every interface with its
// ldap connector on the pod's loopback directory; oauth2-proxy skips discovery and goes to Dex's Service for the
// back-channel, with the gateway's apps side as its upstream; the secrets to redact are listed.
func TestBuildLoginForTheCluster(t *testing.T) {
	p := mustProfile(t, "deploykf")
	l, err := BuildLogin(p, ClusterEndpoints("https://127.0.0.1:40001"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Issuer != "https://127.0.0.1:40001/dex" {
		t.Errorf("issuer %s", l.Issuer)
	}
	var dex struct {
		Issuer     string            `json:"issuer"`
		Web        map[string]string `json:"web"`
		Connectors []struct {
			ID     string         `json:"id"`
			Config map[string]any `json:"config"`
		} `json:"connectors"`
		StaticPasswords []map[string]string `json:"staticPasswords"`
	}
	if err := json.Unmarshal(l.Dex, &dex); err != nil {
		t.Fatal(err)
	}
	if dex.Issuer != l.Issuer || dex.Web["http"] != "0.0.0.0:5556" || len(dex.Connectors) != 1 ||
		dex.Connectors[0].Config["host"] != "127.0.0.1:3890" || len(dex.StaticPasswords) != 3 {
		t.Errorf("Dex's config: %s", l.Dex)
	}
	for _, want := range []string{`oidc_issuer_url = "https://127.0.0.1:40001/dex"`, `skip_oidc_discovery = true`,
		`redeem_url = "http://dex.auth.svc.cluster.local:5556/dex/token"`, `oidc_jwks_url = "http://dex.auth.svc.cluster.local:5556/dex/keys"`,
		`upstreams = ["http://istio-ingressgateway.istio-system.svc.cluster.local:8081/"]`, `http_address = "0.0.0.0:4180"`} {
		if !strings.Contains(l.OAuth2Proxy, want) {
			t.Errorf("oauth2-proxy's config lacks %s:\n%s", want, l.OAuth2Proxy)
		}
	}
	secrets := strings.Join(l.Secrets, " ")
	for _, s := range []string{p.Gateway.ClientSecret, p.Dex.LDAP.BindPW, p.Users[0].Password} {
		if !strings.Contains(secrets, s) {
			t.Errorf("secret %q is not listed for redaction", s)
		}
	}
}

// TestLoginObjects: each manifest's namespace comes first, then the Secret its Deployment mounts; an https profile's
// gateway gets its certificate and the TLS flags, an http one neither.
func TestLoginObjects(t *testing.T) {
	for _, name := range []string{"kubeflow", "deploykf", "kubeflow-1.8"} {
		p := mustProfile(t, name)
		l, err := BuildLogin(p, ClusterEndpoints("http://127.0.0.1:40001"))
		if err != nil {
			t.Fatal(err)
		}
		var bundle *selfca.Bundle
		if p.HTTPS {
			if bundle, err = selfca.New(); err != nil {
				t.Fatal(err)
			}
		}
		objs, err := LoginObjects(p, l, LoginImages{Harness: "h:1", Dex: "d:1", OAuth2Proxy: "o:1"}, bundle)
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		var gw *appsv1.Deployment
		for _, o := range objs {
			order = append(order, describe(o))
			if d, ok := o.(*appsv1.Deployment); ok {
				if d.Name == GatewayService {
					gw = d
				}
				for _, c := range d.Spec.Template.Spec.Containers {
					if c.Image == "" || strings.Contains(c.Image, "${") {
						t.Errorf("%s: container %s image %q", d.Name, c.Name, c.Image)
					}
				}
			}
			if s, ok := o.(*corev1.Secret); ok {
				if m, _ := meta.Accessor(s); m.GetNamespace() == "" {
					t.Errorf("secret %s without a namespace", s.Name)
				}
			}
		}
		got := strings.ReplaceAll(strings.Join(order, ", "), "v1.", "")
		want := "Namespace auth, Secret auth/dex-config, Deployment auth/dex, Service auth/dex, "
		if GatewayStandIn(p) == "" {
			want += "Namespace oauth2-proxy, Secret oauth2-proxy/oauth2-proxy-config, Deployment oauth2-proxy/oauth2-proxy, Service oauth2-proxy/oauth2-proxy, "
		}
		want += "Namespace istio-system, "
		if p.HTTPS {
			want += "Secret istio-system/istio-ingressgateway-certs, "
		}
		want += "ServiceAccount istio-system/istio-ingressgateway, Deployment istio-system/istio-ingressgateway, Service istio-system/istio-ingressgateway"
		if got != want {
			t.Errorf("%s: objects\n got %s\nwant %s", name, got, want)
		}
		args := strings.Join(gw.Spec.Template.Spec.Containers[0].Args, " ")
		if strings.Contains(args, "--tls-cert-file "+gatewayCerts+"/tls.crt") != p.HTTPS || len(gw.Spec.Template.Spec.Volumes) != map[bool]int{true: 1}[p.HTTPS] ||
			!strings.Contains(args, "--profile "+name+" ") || !strings.Contains(args, "--issuer "+l.Issuer) ||
			strings.Contains(args, "--oauth2-proxy") != (GatewayStandIn(p) == "") {
			t.Errorf("%s: gateway args %s, volumes %v", name, args, gw.Spec.Template.Spec.Volumes)
		}
	}
}

// TestSplice: a connection to the origin's port reaches the forward's, both ways, and each side sees the other's end.
func TestSplice(t *testing.T) {
	back, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	go func() {
		c, err := back.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		_, _ = io.WriteString(c, "echo "+line)
	}()
	front, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go splice(front, back.Addr().String())
	c, err := net.DialTimeout("tcp", front.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "hello\n"); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "echo hello\n" {
		t.Errorf("through the splice: %q, %v", got, err)
	}
	front.Close()
	if _, err := net.DialTimeout("tcp", front.Addr().String(), time.Second); err == nil {
		t.Error("the origin still accepts after its listener closed")
	}
}

// TestStackWithLogin: a kind stack whose login pieces are up offers them as the local tier does (gateway, pipeline
// URL, issuer, Dex's gRPC API, the CA, the users with passwords, the profile's capabilities, the OOB client), and its
// description is a valid target file that reads back the same; without them, only the users' namespaces.
func TestStackWithLogin(t *testing.T) {
	p := mustProfile(t, "deploykf")
	bundle, err := selfca.New()
	if err != nil {
		t.Fatal(err)
	}
	l, err := BuildLogin(p, ClusterEndpoints("https://127.0.0.1:40001"))
	if err != nil {
		t.Fatal(err)
	}
	s := &Stack{Profile: p, Cluster: &Cluster{Name: "kfp-authcheck-deploykf-abc", Kubeconfig: "/tmp/kubeconfig"}, redactor: redact.New(),
		kfp: &forward.Forward{URL: "http://127.0.0.1:40002"}, imageRef: "kfp-authcheck.local/kfp-authcheck:test"}
	s.kube.Kubeconfig = "/tmp/kubeconfig"
	bare := s.Target()
	if bare.GatewayURL != "" || bare.Users[0].Password != "" || bare.Capabilities[target.CapOOBClient] {
		t.Errorf("without login: %+v", bare)
	}
	s.login = &loginState{gatewayURL: "https://127.0.0.1:40001", issuer: l.Issuer, users: l.Users,
		tls: &tls.Config{RootCAs: bundle.Pool}, caFile: "/tmp/ca.pem", dexGRPC: &forward.Forward{URL: "http://127.0.0.1:40003"}}
	tg := s.Target()
	if tg.PipelineURL != "https://127.0.0.1:40001/pipeline" || tg.IssuerURL != "https://127.0.0.1:40001/dex" || tg.DexGRPCAddr != "127.0.0.1:40003" ||
		tg.TLS == nil || tg.TLS.RootCAs == nil || tg.OOBClientID != "kubeflow-pipelines-sdk" || !tg.Capabilities[target.CapOOBClient] ||
		!tg.Capabilities[target.CapInCluster] || tg.Users[0].Password == "" || len(tg.Users) != len(p.Users) {
		t.Errorf("with login: %+v", tg)
	}
	b, err := s.Description().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f, err := target.ParseFile(b)
	if err != nil {
		t.Fatalf("the description is not a valid target file: %v\n%s", err, b)
	}
	if f.GatewayURL != tg.GatewayURL || f.IssuerURL != tg.IssuerURL || f.TLS == nil || f.TLS.CAFile != "/tmp/ca.pem" ||
		f.Kubeconfig != "/tmp/kubeconfig" || f.InClusterAPIURL != "http://127.0.0.1:40002" || len(f.Users) != len(p.Users) {
		t.Errorf("description: %s", b)
	}
	if !strings.Contains(s.VersionList(), NodeImage) {
		t.Errorf("versions: %s", s.VersionList())
	}
}
