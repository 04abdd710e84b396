package harness

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// TestPreflightUsesProxy: a gateway reached only through HTTP_PROXY answers the preflight, as it answers the
// checks. net/http reads the proxy variables once per process, so the preflight runs in a child process.
func TestPreflightUsesProxy(t *testing.T) {
	if os.Getenv("KFP_AUTHCHECK_PREFLIGHT_CHILD") == "1" {
		tg, err := target.FromFile(&target.File{GatewayURL: "http://gateway.invalid"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tg.RequestTimeout = 5 * time.Second
		if err := askGateway(context.Background(), tg); err != nil {
			t.Fatalf("preflight: %v", err)
		}
		return
	}
	var asked atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Host == "gateway.invalid" {
			asked.Add(1)
		}
	}))
	defer proxy.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestPreflightUsesProxy$", "-test.count=1")
	cmd.Env = append(os.Environ(), "KFP_AUTHCHECK_PREFLIGHT_CHILD=1", "HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the preflight through HTTP_PROXY failed: %v\n%s", err, strings.TrimSpace(string(out)))
	}
	if asked.Load() == 0 {
		t.Fatal("the proxy was never asked for the gateway")
	}
}
