package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/internal/atomicfile"
)

// ServiceAccountIssuer is the issuer kube-apiserver signs ServiceAccount tokens with: Kubeflow's kind overlay
// (m2m-dex-and-kind) expects this one.
const ServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

// Kube is a running kube-apiserver (with its etcd and kube-controller-manager): where it is, how to trust it, and
// an admin credential for fixtures (a static token in group system:masters), also written as a kubeconfig (mode
// 0600).
type Kube struct {
	URL        string
	CAFile     string
	AdminToken string
	Kubeconfig string

	client *http.Client
}

// startKube starts etcd on a temporary data dir, then kube-apiserver with RBAC, a ServiceAccount issuer and
// key pair, and a static admin token, and waits until /readyz answers (RBAC bootstrap roles included); then
// kube-controller-manager (startControllerManager).
func startKube(ctx context.Context, procs *group, tools, dir string, deadline time.Duration, w io.Writer) (*Kube, error) {
	etcdBin, err := tool(tools, "etcd")
	if err != nil {
		return nil, err
	}
	apiBin, err := tool(tools, "kube-apiserver")
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "etcd-data")
	var etcdURL string
	_, _, err = procs.launch(ctx, "etcd", etcdBin, dir, 2, func(ports []int) ([]string, []string, func(context.Context) error, error) {
		if err := os.RemoveAll(dataDir); err != nil { // a retried start begins from an empty data dir
			return nil, nil, nil, err
		}
		etcdURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
		args := []string{"--name", "default", "--data-dir", dataDir,
			"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", "default=" + peer, "--log-level", "warn"}
		return args, nil, httpReady(&http.Client{Timeout: 2 * time.Second}, etcdURL+"/health", nil), nil
	}, deadline)
	if err != nil {
		return nil, err
	}
	progress(w, "etcd %s on %s (data %s)", ToolVersion(tools, "etcd"), etcdURL, dataDir)

	k := &Kube{}
	if k.AdminToken, err = randomHex(24); err != nil {
		return nil, err
	}
	tokens := filepath.Join(dir, "kube-tokens.csv")
	if err := atomicfile.Write(tokens, []byte(k.AdminToken+",kfp-authcheck-admin,kfp-authcheck-admin,\"system:masters\"\n"), 0o600); err != nil {
		return nil, err
	}
	saKey, saPub := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	if err := writeKeyPair(saKey, saPub); err != nil {
		return nil, err
	}
	certDir := filepath.Join(dir, "kube-certs")
	k.CAFile = filepath.Join(certDir, "apiserver.crt")
	_, _, err = procs.launch(ctx, "kube-apiserver", apiBin, dir, 1, func(ports []int) ([]string, []string, func(context.Context) error, error) {
		k.URL = fmt.Sprintf("https://127.0.0.1:%d", ports[0])
		args := []string{
			"--etcd-servers=" + etcdURL,
			"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", ports[0]),
			"--cert-dir=" + certDir,
			"--authorization-mode=RBAC",
			"--token-auth-file=" + tokens,
			"--service-account-issuer=" + ServiceAccountIssuer,
			"--service-account-key-file=" + saPub,
			"--service-account-signing-key-file=" + saKey,
			"--service-cluster-ip-range=10.96.0.0/24",
			"--enable-priority-and-fairness=false",
			"--profiling=false",
		}
		ready := func(ctx context.Context) error {
			if k.client == nil {
				c, err := k.newClient()
				if err != nil {
					return err // the serving certificate is not written yet
				}
				k.client = c
			}
			_, err := k.Do(ctx, http.MethodGet, "/readyz", nil, nil)
			return err
		}
		k.client = nil
		return args, nil, ready, nil
	}, deadline)
	if err != nil {
		return nil, err
	}
	if err := k.writeKubeconfig(filepath.Join(dir, "kubeconfig")); err != nil {
		return nil, err
	}
	progress(w, "kube-apiserver %s on %s (kubeconfig %s)", ToolVersion(tools, "kube-apiserver"), k.URL, k.Kubeconfig)
	if err := startControllerManager(ctx, procs, tools, dir, k, saKey, deadline, w); err != nil {
		return nil, err
	}
	return k, nil
}

// controllers are the kube-controller-manager controllers the tier runs: ClusterRole aggregation (kubeflow-edit
// and kubeflow-view have aggregation rules only), the "default" ServiceAccount of every namespace and the legacy
// ServiceAccount token Secrets, and the namespace controller, which empties and removes a deleted namespace.
// The names are the pinned version's (kube-controller-manager --help lists them with their aliases).
const controllers = "clusterrole-aggregation-controller,serviceaccount-controller,serviceaccount-token-controller,namespace-controller"

// startControllerManager starts kube-controller-manager against k with the admin kubeconfig (also for its
// delegated authentication and authorization) and the key kube-apiserver signs ServiceAccount tokens with, on a
// free loopback port, and waits until its /healthz answers 200 (its self-signed serving certificate, written to
// --cert-dir, is what the check trusts).
func startControllerManager(ctx context.Context, procs *group, tools, dir string, k *Kube, saKey string, deadline time.Duration, w io.Writer) error {
	bin, err := tool(tools, "kube-controller-manager")
	if err != nil {
		return err
	}
	certDir := filepath.Join(dir, "kcm-certs")
	var url string
	_, _, err = procs.launch(ctx, "kube-controller-manager", bin, dir, 1, func(ports []int) ([]string, []string, func(context.Context) error, error) {
		if err := os.RemoveAll(certDir); err != nil { // a retried start writes a certificate for its own port
			return nil, nil, nil, err
		}
		url = fmt.Sprintf("https://127.0.0.1:%d", ports[0])
		args := []string{
			"--kubeconfig=" + k.Kubeconfig,
			"--authentication-kubeconfig=" + k.Kubeconfig,
			"--authorization-kubeconfig=" + k.Kubeconfig,
			"--controllers=" + controllers,
			"--use-service-account-credentials=false",
			"--service-account-private-key-file=" + saKey,
			"--root-ca-file=" + k.CAFile,
			"--leader-elect=false",
			"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", ports[0]),
			"--cert-dir=" + certDir,
			"--profiling=false",
		}
		ready := func(ctx context.Context) error {
			// Read on every try: the certificate may not be written yet, or only in part.
			client, err := trustingFile(filepath.Join(certDir, "kube-controller-manager.crt"))
			if err != nil {
				return err
			}
			defer client.CloseIdleConnections()
			return httpReady(client, url+"/healthz", nil)(ctx)
		}
		return args, nil, ready, nil
	}, deadline)
	if err != nil {
		return err
	}
	progress(w, "kube-controller-manager %s on %s (%s)", ToolVersion(tools, "kube-controller-manager"), url, controllers)
	return nil
}

// newClient trusts kube-apiserver's self-signed serving certificate (from --cert-dir; its SANs include 127.0.0.1).
func (k *Kube) newClient() (*http.Client, error) { return trustingFile(k.CAFile) }

// trustingFile is a client that trusts the certificates in a PEM file (a program's self-signed serving
// certificate with its CA).
func trustingFile(path string) (*http.Client, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no certificate yet", path)
	}
	return &http.Client{Timeout: 15 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}}}, nil
}

// HTTPClient is a client that trusts the kube-apiserver (send AdminToken, or another token, yourself).
func (k *Kube) HTTPClient() *http.Client { return k.client }

// Do sends a JSON request to the kube-apiserver as the admin and decodes a 2xx answer into out (when not nil).
// Any other status is an *APIStatusError.
func (k *Kube) Do(ctx context.Context, method, path string, in, out any) (int, error) {
	return k.DoAs(ctx, k.AdminToken, method, path, in, out)
}

// DoAs is Do with another bearer token.
func (k *Kube) DoAs(ctx context.Context, token, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, k.URL+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, &APIStatusError{Method: method, Path: path, Status: resp.StatusCode, Body: string(b)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// APIStatusError is a non-2xx answer of the kube-apiserver.
type APIStatusError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *APIStatusError) Error() string {
	body := e.Body
	if len(body) > 300 {
		body = body[:300] + "..."
	}
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, body)
}

func (k *Kube) writeKubeconfig(path string) error {
	ca, err := os.ReadFile(k.CAFile)
	if err != nil {
		return err
	}
	// JSON is valid YAML, and client-go reads either.
	cfg := map[string]any{
		"apiVersion": "v1", "kind": "Config", "current-context": "kfp-authcheck-local",
		"clusters": []any{map[string]any{"name": "local", "cluster": map[string]any{
			"server": k.URL, "certificate-authority-data": base64.StdEncoding.EncodeToString(ca)}}},
		"users": []any{map[string]any{"name": "kfp-authcheck-admin", "user": map[string]any{"token": k.AdminToken}}},
		"contexts": []any{map[string]any{"name": "kfp-authcheck-local", "context": map[string]any{
			"cluster": "local", "user": "kfp-authcheck-admin"}}},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return err
	}
	k.Kubeconfig = path
	return nil
}

// writeKeyPair writes a fresh RSA key pair for ServiceAccount token signing (private key 0600).
func writeKeyPair(keyPath, pubPath string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("service-account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	return atomicfile.Write(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// waitAggregated returns once kube-controller-manager's clusterrole-aggregation controller has caught up: every
// ClusterRole with an aggregationRule holds every rule of every ClusterRole its selectors match. On one
// consistent list that is the controller's fixed point, chains (kubeflow-admin over kubeflow-edit over
// kubeflow-view) included. It re-lists with a short exponential back-off (25 ms growing to 500 ms) until then or
// until ctx ends; the answer says which role still lacks which part.
func waitAggregated(ctx context.Context, client kubernetes.Interface) error {
	var pending error
	b := wait.Backoff{Duration: 25 * time.Millisecond, Factor: 1.5, Jitter: 0.1, Steps: math.MaxInt32, Cap: 500 * time.Millisecond}
	err := wait.ExponentialBackoffWithContext(ctx, b, func(ctx context.Context) (bool, error) {
		callCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		l, err := client.RbacV1().ClusterRoles().List(callCtx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		pending, err = unaggregated(l.Items)
		return pending == nil, err
	})
	if err != nil && pending != nil {
		return fmt.Errorf("clusterrole aggregation (kube-controller-manager): %w (%v)", pending, err)
	}
	return err
}

// unaggregated names the first aggregated ClusterRole that lacks a rule of a role its selectors match, nil when
// there is none; err is a selector that does not parse.
func unaggregated(roles []rbacv1.ClusterRole) (pending error, err error) {
	for _, agg := range roles {
		if agg.AggregationRule == nil {
			continue
		}
		for _, ls := range agg.AggregationRule.ClusterRoleSelectors {
			sel, err := metav1.LabelSelectorAsSelector(&ls)
			if err != nil {
				return nil, fmt.Errorf("clusterrole %s: aggregationRule: %w", agg.Name, err)
			}
			for _, part := range roles {
				if part.Name == agg.Name || !sel.Matches(labels.Set(part.Labels)) {
					continue
				}
				for _, rule := range part.Rules {
					if !slices.ContainsFunc(agg.Rules, func(r rbacv1.PolicyRule) bool { return apiequality.Semantic.DeepEqual(r, rule) }) {
						return fmt.Errorf("%s lacks a rule of %s", agg.Name, part.Name), nil
					}
				}
			}
		}
	}
	return nil, nil
}
