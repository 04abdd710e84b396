package versions

import (
	"context"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// TestCollectReadsDexAndKFPVersions asks an embedded stack the way a live run would: Dex through its gRPC API
// and KFP's healthz directly; then, with neither the gRPC address nor the direct API, through discovery and a
// login at the gateway.
func TestCollectReadsDexAndKFPVersions(t *testing.T) {
	p, err := profile.Get("kubeflow-1.8")
	if err != nil {
		t.Fatal(err)
	}
	stack, err := embedded.Start(context.Background(), p, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	ctx := context.Background()

	direct := Collect(ctx, stack.Target())
	if direct.Dex.Version != p.Dex.Version || !strings.Contains(direct.Dex.Source, "gRPC GetVersion") {
		t.Errorf("dex via gRPC: %+v, want version %s", direct.Dex, p.Dex.Version)
	}
	if direct.KFP.Version != p.KFP.Version || !strings.Contains(direct.KFP.Source, "in_cluster_api_url") {
		t.Errorf("kfp via the direct API: %+v, want version %s", direct.KFP, p.KFP.Version)
	}

	tg := stack.Target()
	tg.DexGRPCAddr, tg.InClusterAPIURL = "", ""
	gw := Collect(ctx, tg)
	if gw.Dex.Version != "" || gw.Dex.Error != "" || !strings.Contains(gw.Dex.Detail, "publishes no version") {
		t.Errorf("dex via discovery: %+v", gw.Dex)
	}
	if gw.KFP.Version != p.KFP.Version || !strings.Contains(gw.KFP.Source, "logged in as user@example.com") {
		t.Errorf("kfp through the gateway: %+v, want version %s", gw.KFP, p.KFP.Version)
	}

	tg.Users[0].Password = "wrong-password-1234"
	tg.Redactor.Add("wrong-password-1234")
	bad := Collect(ctx, tg)
	if bad.KFP.Version != "" || bad.KFP.Error == "" || strings.Contains(bad.KFP.Error, "wrong-password-1234") {
		t.Errorf("a failed login must be an error without the password: %+v", bad.KFP)
	}
}

// TestOAuth2ProxyFooterAndProfileFallback: the embedded deploykf stack's oauth2-proxy stand-in prints the real
// footer; Run keeps what was observed and marks the profile's versions where nothing was.
func TestOAuth2ProxyFooterAndProfileFallback(t *testing.T) {
	p, err := profile.Get("deploykf")
	if err != nil {
		t.Fatal(err)
	}
	stack, err := embedded.Start(context.Background(), p, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	seen := Collect(context.Background(), stack.Target())
	t.Logf("oauth2-proxy: %+v; kubernetes: %+v", seen.OAuth2Proxy, seen.Kubernetes)
	if seen.OAuth2Proxy.Version == "" && seen.OAuth2Proxy.Error != "" {
		t.Errorf("oauth2-proxy: %+v", seen.OAuth2Proxy)
	}
	vs := Run(seen, p)
	got := map[string]result.Version{}
	for _, v := range vs {
		got[v.Component] = v
	}
	if got["dex"].Version != p.Dex.Version || got["dex"].FromProfile {
		t.Errorf("dex: %+v", got["dex"])
	}
	if got["kfp"].Version == "" {
		t.Errorf("kfp: %+v", got["kfp"])
	}
	if g := got["oauth2-proxy"]; g.Version == "" || (seen.OAuth2Proxy.Version == "" && !g.FromProfile) {
		t.Errorf("oauth2-proxy: %+v (seen %+v)", g, seen.OAuth2Proxy)
	}
	none := Run(Seen{}, p)
	for _, v := range none {
		if !v.FromProfile || v.Source != "the profile" {
			t.Errorf("nothing observed, yet %+v is not marked from the profile", v)
		}
	}
	if len(none) == 0 {
		t.Error("no profile versions at all")
	}
}
