package local

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/kind"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/atomicfile"
	"github.com/kfp-authcheck/kfp-authcheck/internal/redact"
	"github.com/kfp-authcheck/kfp-authcheck/internal/selfca"
	"github.com/kfp-authcheck/kfp-authcheck/mocks/ldapserver"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// staticTool is a static build of a pinned program (bin/static, what the kind tier's images hold), or skips the
// test where none is built; with KFP_AUTHCHECK_REQUIRE_TOOLS=1 a missing one fails.
func staticTool(t *testing.T, name string) string {
	t.Helper()
	dir, err := ToolsDir()
	if err == nil {
		var p string
		if p, err = tool(filepath.Join(filepath.Dir(dir), "static"), name); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%v (make static-tools, or make image, builds it)", err)
	if os.Getenv("KFP_AUTHCHECK_REQUIRE_TOOLS") == "1" || !errors.Is(err, ErrToolsMissing) {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// TestKindLoginOnLoopback proves the kind tier's login composition without Docker: the static Dex and oauth2-proxy
// that make image puts in the kind tier's images run with the configs clusters/kind writes (kind.BuildLogin; only
// the addresses are loopback ones instead of the cluster's), the fixture directory is served the way the
// ldap-directory container serves it, the gateway is components.Gateway as `kfp-authcheck gateway` builds it (its
// mesh reading the real kube-apiserver's keys), and ml-pipeline-ui is kfp-standin's gateway side, authorizing
// against that kube-apiserver. A Target built with kind.AddLogin, as the kind tier's, then runs the login, cookie,
// OOB, LDAP and M2M families: every check gets the profile's expected verdict, and those families are not n/a.
// The objects that deploy the same configs are created on the kube-apiserver too (every one validated).
func TestKindLoginOnLoopback(t *testing.T) {
	requireTools(t, "etcd", "kube-apiserver", "kube-controller-manager")
	dexBin, proxyBin := staticTool(t, "dex"), staticTool(t, "oauth2-proxy")
	for _, name := range []string{"kubeflow-1.10-kind", "deploykf", "kubeflow-1.8"} {
		t.Run(name, func(t *testing.T) {
			p, err := profile.Get(name)
			if err != nil {
				t.Fatal(err)
			}
			testKindLogin(t, p, dexBin, proxyBin)
		})
	}
}

func testKindLogin(t *testing.T, p *profile.Profile, dexBin, proxyBin string) {
	s := startStack(t, "standalone", Options{Kube: true}) // the kube-apiserver, nothing of the profile's
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	client := s.kube.client
	var err error
	if err = components.ApplyProfileRBAC(ctx, client, p); err != nil {
		t.Fatal(err)
	}
	listen := func() net.Listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	gwLis, appsLis, uiLis, apiLis := listen(), listen(), listen(), listen()
	scheme, clientTLS := "http", &tls.Config{MinVersion: tls.VersionTLS12}
	var serverTLS *tls.Config
	var bundle *selfca.Bundle
	if p.HTTPS {
		if bundle, err = selfca.New(); err != nil {
			t.Fatal(err)
		}
		scheme, clientTLS.RootCAs = "https", bundle.Pool
		serverTLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{bundle.Server}}
	}
	ldap, err := ldapserver.StartLDIF(fixtures.DirectoryLDIF)
	if err != nil {
		t.Fatal(err)
	}
	defer ldap.Close()
	e := kind.LoginEndpoints{GatewayURL: scheme + "://" + gwLis.Addr().String(), LDAPURL: ldap.URL(),
		AppsURL: "http://" + appsLis.Addr().String() + "/"}

	// Dex and oauth2-proxy from their static builds, each with the config kind.BuildLogin writes for it.
	var login *kind.Login
	var dexDirect string
	_, _, err = s.procs.launch(ctx, "dex-static", dexBin, s.dir, 3, func(ports []int) ([]string, []string, func(context.Context) error, error) {
		e.DexAddrs = components.DexAddrs{Web: loopback(ports[0]), GRPC: loopback(ports[1]), Telemetry: loopback(ports[2])}
		l, err := kind.BuildLogin(p, e)
		if err != nil {
			return nil, nil, nil, err
		}
		login = l
		cfg := filepath.Join(s.dir, "dex-kind.yaml")
		if err := atomicfile.Write(cfg, l.Dex, 0o600); err != nil {
			return nil, nil, nil, err
		}
		dexDirect = "http://" + loopback(ports[0]) + "/dex"
		return []string{"serve", cfg}, nil, httpReady(&http.Client{Timeout: 2 * time.Second}, dexDirect+"/healthz", nil), nil
	}, time.Minute)
	if err != nil {
		t.Fatalf("static Dex with the kind config: %v\n%s", err, s.LogTails(4<<10))
	}
	e.DexURL = dexDirect
	var proxyURL string
	if kind.GatewayStandIn(p) == "" { // oidc-authservice: the gateway stand-in plays it, no oauth2-proxy
		proxyURL = launchKindOAuth2Proxy(t, ctx, s, p, e, proxyBin)
	}
	// kfp-standin's two sides and the gateway, as the commands assemble them.
	kfp, err := components.NewInClusterKFP(p, client, "test")
	if err != nil {
		t.Fatal(err)
	}
	s.serve(uiLis, components.Upstream(kfp), nil)
	s.serve(apiLis, components.InClusterHandler(p, kfp), nil)
	// The mesh reads the ServiceAccount keys with the credentials it is given, as the gateway's pod with its own token.
	rc, err := target.KubeRESTConfig(s.Kube.Kubeconfig, "", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := rest.HTTPClientFor(rc)
	if err != nil {
		t.Fatal(err)
	}
	keys.Timeout = 10 * time.Second
	front, apps, err := components.Gateway(p, components.GatewayConfig{Issuer: login.Issuer, Dex: dexDirect, OAuth2Proxy: proxyURL,
		Apps: "http://" + uiLis.Addr().String(), KubeAPI: rc.Host, KubeClient: keys})
	if err != nil {
		t.Fatal(err)
	}
	s.serve(appsLis, apps, nil)
	s.serve(gwLis, front, serverTLS)

	desc := &target.File{Profile: p.Name, Tier: target.TierKind, InClusterAPIURL: "http://" + apiLis.Addr().String(), Kubeconfig: s.Kube.Kubeconfig}
	kind.DescribeLogin(desc, p, kind.LoginAccess{GatewayURL: e.GatewayURL, Issuer: login.Issuer, DexGRPCAddr: e.DexAddrs.GRPC,
		Users: login.Users})
	red := redact.New()
	for _, sec := range login.Secrets {
		red.Add(sec)
	}
	tg, err := target.New(desc, target.Handles{Name: "kind-login", Profile: p, Kube: client, TLS: clientTLS, Redactor: red})
	if err != nil {
		t.Fatal(err)
	}
	var list []*checks.Check
	for _, c := range checks.All() {
		for _, fam := range []string{"DEX-", "OAUTH2P-", "OOB-", "M2M-", "SETUP-"} {
			if strings.HasPrefix(c.ID, fam) {
				list = append(list, c)
			}
		}
	}
	run := checks.Run(ctx, tg, list, checks.Options{})
	ran := map[string]int{}
	for _, r := range run.Results {
		c, _ := checks.Get(r.ID)
		want := checks.ExpectedStatus(tg, c)
		if r.Status != want {
			t.Errorf("%s: %s %s (%s), want %s", r.ID, r.Status, r.Reason, r.Message, want)
		}
		if r.Status != result.NA {
			ran[strings.SplitN(r.ID, "-", 2)[0]]++
		}
		b, _ := json.Marshal(r)
		for _, sec := range login.Secrets { // the cookie and client secrets, the bind password (users' are words like "user1")
			if len(sec) >= 12 && strings.Contains(string(b), sec) {
				t.Errorf("%s: a secret of the configs in the result", r.ID)
			}
		}
	}
	t.Logf("%s: ran %v of %d checks", p.Name, ran, len(list))
	want := map[string][]string{"kubeflow-1.10-kind": {"DEX", "SETUP", "M2M"}, "deploykf": {"DEX", "SETUP", "OOB", "OAUTH2P"}, "kubeflow-1.8": {"DEX", "SETUP"}}[p.Name]
	for _, fam := range want {
		if ran[fam] == 0 {
			t.Errorf("no %s check ran", fam)
		}
	}

	// The same configs as the objects that deploy them, created on kube-apiserver (it validates each one).
	objs, err := kind.LoginObjects(p, login, kind.LoginImages{Harness: "kfp-authcheck.local/kfp-authcheck:test",
		Dex: "kfp-authcheck.local/dex:test", OAuth2Proxy: "kfp-authcheck.local/oauth2-proxy:test"}, bundle)
	if err != nil {
		t.Fatal(err)
	}
	if err := kind.CreateObjects(ctx, client, objs, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the kind tier's login manifests on kube-apiserver: %v", err)
	}
	gw, err := client.AppsV1().Deployments(kind.GatewayNamespace).Get(ctx, kind.GatewayService, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(gw.Spec.Template.Spec.Containers[0].Args, " ")
	if !strings.Contains(args, "--issuer "+login.Issuer) || strings.Contains(args, "--tls-cert-file") != p.HTTPS {
		t.Errorf("the gateway's arguments as stored: %s", args)
	}
	sec, err := client.CoreV1().Secrets(kind.DexNamespace).Get(ctx, "dex-config", metav1.GetOptions{})
	if err != nil || string(sec.Data["config.yaml"]) != string(login.Dex) {
		t.Errorf("Dex's config Secret as stored: %v", err)
	}
}

// launchKindOAuth2Proxy runs the static oauth2-proxy with the config kind.BuildLogin writes for e.
func launchKindOAuth2Proxy(t *testing.T, ctx context.Context, s *Stack, p *profile.Profile, e kind.LoginEndpoints, proxyBin string) string {
	t.Helper()
	var proxyURL string
	_, _, err := s.procs.launch(ctx, "oauth2-proxy-static", proxyBin, s.dir, 1, func(ports []int) ([]string, []string, func(context.Context) error, error) {
		e.ProxyListen = loopback(ports[0])
		l, err := kind.BuildLogin(p, e)
		if err != nil {
			return nil, nil, nil, err
		}
		cfg := filepath.Join(s.dir, "oauth2-proxy-kind.cfg")
		if err := atomicfile.Write(cfg, []byte(l.OAuth2Proxy), 0o600); err != nil {
			return nil, nil, nil, err
		}
		proxyURL = "http://" + e.ProxyListen
		return []string{"--config", cfg}, nil, httpReady(&http.Client{Timeout: 2 * time.Second}, proxyURL+"/ready", nil), nil
	}, time.Minute)
	if err != nil {
		t.Fatalf("static oauth2-proxy with the kind config: %v\n%s", err, s.LogTails(4<<10))
	}
	return proxyURL
}
