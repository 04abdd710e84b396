package versions

import (
	"context"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
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
