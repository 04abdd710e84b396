package embedded_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/auth/satoken"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// TestServiceAccountTokenAtEachGateway sends `kubectl create token`'s token for a profile namespace's
// default-editor to the gateway of each multi-user profile. Kubeflow 1.10 with the kind overlay lets it through
// Istio's jwt_authn (200), the default m2m-dex-only overlay refuses it there (401); deployKF's gateway always asks oauth2-proxy first, which cannot verify a token of the
// Kubernetes issuer, only logs that, finds no cookie and answers the API path with 401 {} (WIRE-FACTS.md 1.2,
// 2.2); Kubeflow 1.8's authservice is the same kind of refusal, a 302 to Dex.
func TestServiceAccountTokenAtEachGateway(t *testing.T) {
	for _, tc := range []struct {
		profile     string
		status      int
		contentType string
		body        string
	}{
		{"kubeflow-1.10-kind", http.StatusOK, "application/json", ""},
		// The example install's m2m-dex-only overlay holds only Dex's issuer: Istio's jwt_authn refuses the
		// cluster's token before oauth2-proxy is asked.
		{"kubeflow-1.10", http.StatusUnauthorized, "", "Jwt issuer is not configured"},
		{"deploykf", http.StatusUnauthorized, "application/json", "{}"},
		{"kubeflow-1.8", http.StatusFound, "", ""},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			p, err := profile.Get(tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			stack, err := embedded.Start(ctx, p, embedded.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer stack.Close()
			tg := stack.Target()
			ns := p.KFP.Namespaces[0].Name
			m, err := satoken.Mint(ctx, tg.Kube, ns, "default-editor", nil, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, stack.PipelineURL+"/apis/v2beta1/experiments?namespace="+ns, nil)
			req.Header.Set("Authorization", "Bearer "+m.Token)
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tg.TLS},
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, b, tc.status)
			}
			if tc.contentType != "" && resp.Header.Get("Content-Type") != tc.contentType {
				t.Fatalf("content-type %q, want %q", resp.Header.Get("Content-Type"), tc.contentType)
			}
			if tc.body != "" && string(b) != tc.body {
				t.Fatalf("body %q, want %q", b, tc.body)
			}
		})
	}
}
