package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/auth/satoken"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// TestProbeWithAMintedToken runs the in-cluster probe the way a Job would, outside a pod: a token minted through
// TokenRequest for a profile namespace's default-editor, written where a projected volume would put it. It
// passes in its own namespace, fails with K8S_RBAC in another, and with NO_CREDENTIALS without the file; the
// token never reaches the output.
func TestProbeWithAMintedToken(t *testing.T) {
	p, tg := kubeflowStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if tg.Kube == nil || len(p.KFP.Namespaces) == 0 {
		t.Fatalf("the kubeflow stack has no Kubernetes stand-in or no profile namespace")
	}
	own := p.KFP.Namespaces[0].Name
	fx := fixtures.NewKube(tg.Kube)
	other := fx.Name("other")
	if err := fx.Profile(ctx, other, "someone-else@example.com"); err != nil {
		t.Fatal(err)
	}
	defer fx.Cleanup(context.Background())
	m, err := satoken.Mint(ctx, tg.Kube, own, "default-editor", []string{satoken.Audience}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(m.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, ns, tokenPath string
		code                int
		status              result.Status
		reason              result.Reason
	}{
		{"own namespace", own, tokenFile, exitOK, result.Pass, ""},
		{"another namespace", other, tokenFile, exitUnexpected, result.Fail, result.K8sRBAC},
		{"no token file", own, filepath.Join(t.TempDir(), "absent"), exitUnexpected, result.Fail, result.NoCredentials},
	} {
		code, stdout, stderr := runCLI(t, "component", "probe", "--api-url", tg.InClusterAPIURL, "--namespace", c.ns, "--token-path", c.tokenPath)
		if strings.Contains(stdout+stderr, m.Token) {
			t.Errorf("%s: the token reached the output", c.name)
		}
		var run result.Run
		if err := json.Unmarshal([]byte(stdout), &run); err != nil {
			t.Errorf("%s: stdout is not run JSON (%v):\n%s", c.name, err, stdout)
			continue
		}
		if code != c.code || len(run.Results) != 1 || run.Results[0].ID != "SA-001" ||
			run.Results[0].Status != c.status || run.Results[0].Reason != c.reason {
			t.Errorf("%s: exit %d, results %+v; want exit %d, SA-001 %s %s", c.name, code, run.Results, c.code, c.status, c.reason)
		}
	}
	if code, _, stderr := runCLI(t, "component", "probe", "--api-url", tg.InClusterAPIURL); code != exitUsage || !strings.Contains(stderr, "--namespace") {
		// Outside a pod there is no namespace file: a usage error that says which flag to give.
		t.Errorf("probe outside a pod without --namespace: exit %d, %s", code, stderr)
	}
}

// kubeflowStack starts the embedded kubeflow stack (with its Kubernetes stand-in) for one test.
func kubeflowStack(t *testing.T) (*profile.Profile, *target.Target) {
	t.Helper()
	p, err := profile.Get("kubeflow")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := embedded.Start(ctx, p, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return p, s.Target()
}
