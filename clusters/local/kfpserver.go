package local

// The real KFP API server on the local tier (Options.KFP = KFPReal): the server built by `make tools` from the
// pinned KFP master of 2023-12-08 (the 2.0.5 era), run as TOOLCHAIN.md's recipe says:
//
//   - MariaDB (Debian's mariadb-server, `make mariadb`) as a user process: a fresh data dir, a loopback port, its
//     socket in the data dir; the server creates database mlpipeline itself.
//   - An S3-compatible object store: gofakes3 with its in-memory backend (tools/s3), on a loopback port.
//   - Kubernetes: the local tier's kube-apiserver, reached the only way the server knows (rest.InClusterConfig):
//     KUBERNETES_SERVICE_HOST/_PORT and a token, CA and namespace at /var/run/secrets/kubernetes.io/serviceaccount,
//     which a private mount namespace (`unshare -m`) puts there for this process only. The token is a
//     TokenRequest for ServiceAccount kubeflow/ml-pipeline, bound to a ClusterRole that allows what KFP's own
//     ml-pipeline ServiceAccount needs for auth: create tokenreviews and subjectaccessreviews.
//
// The gateway's upstream sends /pipeline/apis/ to it (as ml-pipeline-ui proxies the API); the rest of /pipeline
// stays the stand-in's UI. The in-cluster address is the server behind the Istio policy stand-in below.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/components"
	"github.com/kfp-authcheck/kfp-authcheck/internal/atomicfile"
	kfpmock "github.com/kfp-authcheck/kfp-authcheck/mocks/kfpapi"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// Options.KFP values, and the environment variable the suites and `make e2e-local` set.
const (
	// KFPStandIn is the project's KFP API stand-in (mocks/kfpapi), the default.
	KFPStandIn = "stand-in"
	// KFPReal is the real KFP API server with MariaDB and an S3 store; it implies Options.Kube. Its in-cluster
	// address is behind the Istio policy stand-in, as in Kubeflow with the mesh.
	KFPReal = "real"
	// KFPRealNoMesh is KFPReal with the bare server at the in-cluster address: a setup without the mesh, where a
	// kubeflow-userid sent straight to the API server is believed (ISO-001 fails, truthfully).
	KFPRealNoMesh = "real-no-mesh"
	// KFPEnv selects the KFP API of the local tier for callers that take no flag (the suites): "real",
	// "real-no-mesh" or "stand-in".
	KFPEnv = "KFP_AUTHCHECK_LOCAL_KFP"
)

const (
	kfpNamespace      = "kubeflow"
	kfpServiceAccount = "ml-pipeline"
	kfpClusterRole    = "kfp-authcheck-ml-pipeline"
	// kfpTokenSeconds is the lifetime of the server's in-cluster token: longer than any run or serve session
	// here (client-go rereads the file, but nobody refreshes it).
	kfpTokenSeconds = 24 * 3600
)

// KFPFromEnv is the KFP API $KFP_AUTHCHECK_LOCAL_KFP asks for ("" is the stand-in).
func KFPFromEnv() (string, error) {
	v := os.Getenv(KFPEnv)
	if v == "" {
		return KFPStandIn, nil
	}
	return v, checkKFP(v)
}

func checkKFP(v string) error {
	switch v {
	case "", KFPStandIn, KFPReal, KFPRealNoMesh:
		return nil
	}
	return fmt.Errorf("local tier: unknown KFP API %q (want %q, %q or %q)", v, KFPStandIn, KFPReal, KFPRealNoMesh)
}

// KFPServer is a running real KFP API server and what it runs on.
type KFPServer struct {
	// URL is the server's HTTP port (grpc-gateway and healthz), what ml-pipeline:8888 is in a cluster.
	URL string
	// GRPCAddr is its gRPC port (the flag takes a port only, so it listens on every interface).
	GRPCAddr string
	// DBAddr is MariaDB's loopback address, S3URL the object store's.
	DBAddr, S3URL string
}

// kfpBackend forwards to the real server once it is up. The stack's listeners serve before the server starts,
// but Start returns only after it is ready, so nobody sees the 503.
type kfpBackend struct {
	proxy  atomic.Pointer[httputil.ReverseProxy]
	noMesh bool // the in-cluster address is the bare server
}

func (b *kfpBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := b.proxy.Load()
	if p == nil {
		http.Error(w, "the KFP API server is not up yet", http.StatusServiceUnavailable)
		return
	}
	p.ServeHTTP(w, r)
}

// prepareKFP checks Options.KFP and makes the real server's needs part of the options.
func (s *Stack) prepareKFP(opts *Options) error {
	if err := checkKFP(opts.KFP); err != nil {
		return err
	}
	if opts.KFP == KFPReal || opts.KFP == KFPRealNoMesh {
		opts.Kube = true
		s.kfp = &kfpBackend{noMesh: opts.KFP == KFPRealNoMesh}
	}
	return nil
}

// inClusterHandler is what the in-cluster address serves: the stand-in behind the embedded tier's policy, the
// real server behind the Istio policy stand-in, or (no mesh) the bare real server.
func (s *Stack) inClusterHandler(p *profile.Profile, kfp *kfpmock.Server) http.Handler {
	switch {
	case s.kfp == nil:
		return components.InClusterHandler(p, kfp)
	case s.kfp.noMesh:
		s.Versions["in-cluster policy"] = "none (no mesh: the bare KFP API server)"
		return s.kfp
	}
	s.Versions["in-cluster policy"] = "Istio AuthorizationPolicy stand-in"
	return components.IstioPolicyStandIn(p, s.kfp)
}

// uiBackend is what ml-pipeline-ui serves in the cluster: the stand-in's UI, with /apis/ going to the real
// server where it runs (the UI proxies the API with the caller's headers).
func (s *Stack) uiBackend(kfp *kfpmock.Server) http.Handler {
	if s.kfp == nil {
		return kfp.UIHandler()
	}
	mux := http.NewServeMux()
	mux.Handle("/apis/", s.kfp)
	mux.Handle("/", kfp.UIHandler())
	return mux
}

// upstream is what the gateway guards: with the real server, /pipeline/apis/ goes to it.
func (s *Stack) upstream(kfp *kfpmock.Server) http.Handler {
	up := components.Upstream(kfp)
	if s.kfp == nil {
		return up
	}
	mux := http.NewServeMux()
	mux.Handle("/pipeline/apis/", http.StripPrefix("/pipeline", s.kfp))
	mux.Handle("/", up)
	return mux
}

// startRealKFP starts MariaDB, the S3 store and the KFP API server against s.Kube, and points the gateway's
// upstream and the in-cluster address at it.
func (s *Stack) startRealKFP(ctx context.Context, p *profile.Profile, tools string, opts Options) error {
	if s.Kube == nil {
		return fmt.Errorf("the real KFP API server needs the kube-apiserver (Options.Kube)")
	}
	kfpBin, err := tool(tools, "kfp-apiserver")
	if err != nil {
		return err
	}
	s3Bin, err := tool(tools, "s3")
	if err != nil {
		return err
	}
	dir := filepath.Join(s.dir, "kfp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	srv := &KFPServer{}
	var dbVersion string
	if srv.DBAddr, dbVersion, err = startMariaDB(ctx, &s.procs, dir, opts.StartTimeout); err != nil {
		return err
	}
	s.Versions["mariadb"] = dbVersion
	progress(opts.Progress, "mariadb %s on %s (data %s)", dbVersion, srv.DBAddr, filepath.Join(dir, "mariadb"))

	_, _, err = s.procs.launch(ctx, "s3", s3Bin, dir, 1, func(ports []int) ([]string, []string, func(context.Context) error, error) {
		srv.S3URL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		return []string{"-addr", fmt.Sprintf("127.0.0.1:%d", ports[0])}, nil,
			httpReady(&http.Client{Timeout: 2 * time.Second}, srv.S3URL+"/", nil), nil
	}, opts.StartTimeout)
	if err != nil {
		return err
	}
	s.Versions["s3"] = "gofakes3 " + ToolVersion(tools, "s3")
	progress(opts.Progress, "s3 (gofakes3 %s, in memory) on %s", ToolVersion(tools, "s3"), srv.S3URL)

	rctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	saDir, err := s.kfpInClusterCredentials(rctx, dir)
	if err != nil {
		return fmt.Errorf("kube-apiserver: the KFP API server's ServiceAccount: %w", err)
	}
	// The profile's Kubeflow RBAC is already in kube-apiserver, aggregated (startKubeAPI, kubewire.go).
	cfgDir, sample, err := writeKFPConfig(dir, p, srv.DBAddr)
	if err != nil {
		return err
	}
	kubeURL, err := url.Parse(s.Kube.URL)
	if err != nil {
		return err
	}
	s3URL, _ := url.Parse(srv.S3URL)
	// The server migrates its schema at start: give it more than one program's deadline.
	deadline := 3 * opts.StartTimeout
	_, _, err = s.procs.launch(ctx, "kfp-apiserver", "unshare", dir, 2, func(ports []int) ([]string, []string, func(context.Context) error, error) {
		srv.URL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		srv.GRPCAddr = fmt.Sprintf("127.0.0.1:%d", ports[1])
		args := inClusterMount(saDir, kfpBin, "-config", cfgDir, "-sampleconfig", sample,
			"-httpPortFlag", fmt.Sprintf("127.0.0.1:%d", ports[0]), "-rpcPortFlag", fmt.Sprintf(":%d", ports[1]),
			"-logtostderr")
		env := []string{
			"KUBERNETES_SERVICE_HOST=" + kubeURL.Hostname(), "KUBERNETES_SERVICE_PORT=" + kubeURL.Port(),
			"MINIO_SERVICE_SERVICE_HOST=" + s3URL.Hostname(), "MINIO_SERVICE_SERVICE_PORT=" + s3URL.Port(),
			// Required at start; nothing here asks for a visualization.
			"ML_PIPELINE_VISUALIZATIONSERVER_SERVICE_HOST=127.0.0.1", "ML_PIPELINE_VISUALIZATIONSERVER_SERVICE_PORT=8888",
			"POD_NAMESPACE=" + kfpNamespace,
		}
		// healthz is served by the HTTP side alone: the API calls go through the gRPC port, so wait for both, and
		// then for the HTTP side's own connection to it: the HTTP proxy starts before the RPC server, and its first
		// dial fails into gRPC's reconnect backoff, during which every API call answers 503 "connection refused".
		healthz := httpReady(&http.Client{Timeout: 2 * time.Second}, srv.URL+"/apis/v2beta1/healthz", nil)
		grpcUp := tcpReady(srv.GRPCAddr)
		viaHTTP := apiReachesRPC(&http.Client{Timeout: 2 * time.Second}, srv.URL, kfpNamespace)
		return args, env, func(ctx context.Context) error {
			if err := healthz(ctx); err != nil {
				return err
			}
			if err := grpcUp(ctx); err != nil {
				return err
			}
			return viaHTTP(ctx)
		}, nil
	}, deadline)
	if err != nil {
		return err
	}
	target, _ := url.Parse(srv.URL)
	s.kfp.proxy.Store(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target); r.Out.Host = r.In.Host },
		Transport: &http.Transport{ResponseHeaderTimeout: 30 * time.Second, DisableCompression: true,
			DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext},
		ErrorLog: components.QuietLog(),
	})
	s.KFP = srv
	s.Versions["kfp-apiserver"] = ToolVersion(tools, "kfp-apiserver")
	progress(opts.Progress, "kfp-apiserver %s on %s (gRPC %s)", s.Versions["kfp-apiserver"], srv.URL, srv.GRPCAddr)
	return nil
}

// inClusterMount is the unshare command line that runs bin with args in a private mount namespace where
// /var/run/secrets/kubernetes.io/serviceaccount is saDir: a tmpfs over /var/run (only this process sees it,
// the host's is untouched) holding a bind mount of saDir. Run as anyone else than root, unshare maps the user
// to root in a user namespace first (where the kernel allows unprivileged user namespaces).
func inClusterMount(saDir, bin string, args ...string) []string {
	const script = `set -e
run=$(readlink -f /var/run)
mount -t tmpfs -o mode=0755 tmpfs "$run"
mkdir -p "$run/secrets/kubernetes.io/serviceaccount"
mount --bind "$1" "$run/secrets/kubernetes.io/serviceaccount"
shift
exec "$@"`
	out := []string{"-m", "--propagation", "private"}
	if os.Geteuid() != 0 {
		out = append([]string{"-r"}, out...)
	}
	out = append(out, "sh", "-c", script, "kfp-apiserver", saDir, bin)
	return append(out, args...)
}

// kfpInClusterCredentials creates ServiceAccount kubeflow/ml-pipeline with the RBAC KFP's ml-pipeline has for
// auth, mints its token (TokenRequest, the API server's own audience) and writes the folder the server reads as
// its in-cluster credentials: token (0600), ca.crt (kube-apiserver's serving certificate) and namespace.
func (s *Stack) kfpInClusterCredentials(ctx context.Context, dir string) (string, error) {
	k := s.Kube
	if err := k.EnsureNamespace(ctx, kfpNamespace); err != nil {
		return "", err
	}
	if err := k.EnsureServiceAccount(ctx, kfpNamespace, kfpServiceAccount); err != nil {
		return "", err
	}
	// kubeflow/pipelines manifests/kustomize/base/installs/multi-user/api-service/cluster-role.yaml, the
	// auth part (the rest is Argo workflows, scheduled workflows, pods and secrets, which nothing here runs).
	if err := k.Create(ctx, "/apis/rbac.authorization.k8s.io/v1/clusterroles", map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": kfpClusterRole},
		"rules": []any{
			map[string]any{"apiGroups": []string{"authentication.k8s.io"}, "resources": []string{"tokenreviews"}, "verbs": []string{"create"}},
			map[string]any{"apiGroups": []string{"authorization.k8s.io"}, "resources": []string{"subjectaccessreviews"}, "verbs": []string{"create"}},
		}}); err != nil {
		return "", err
	}
	if err := k.Create(ctx, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": map[string]any{"name": kfpClusterRole},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": kfpClusterRole},
		"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": kfpServiceAccount, "namespace": kfpNamespace}}}); err != nil {
		return "", err
	}
	token, err := k.TokenRequest(ctx, kfpNamespace, kfpServiceAccount, ServiceAccountIssuer, kfpTokenSeconds)
	if err != nil {
		return "", err
	}
	s.redactor.Add(token)
	ca, err := os.ReadFile(k.CAFile)
	if err != nil {
		return "", err
	}
	saDir := filepath.Join(dir, "serviceaccount")
	if err := os.MkdirAll(saDir, 0o700); err != nil {
		return "", err
	}
	for name, b := range map[string][]byte{"token": []byte(token), "ca.crt": ca, "namespace": []byte(kfpNamespace)} {
		if err := atomicfile.Write(filepath.Join(saDir, name), b, 0o600); err != nil {
			return "", err
		}
	}
	return saDir, nil
}

// writeKFPConfig writes DIR/config/config.json (the server's -config, upstream's config.json with the profile's
// multi-user settings and MariaDB's address) and an empty sample list; it returns both paths.
func writeKFPConfig(dir string, p *profile.Profile, dbAddr string) (string, string, error) {
	dbHost, dbPort, err := net.SplitHostPort(dbAddr)
	if err != nil {
		return "", "", err
	}
	cfgDir := filepath.Join(dir, "config")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		return "", "", err
	}
	header := p.KFP.UserIDHeader
	if header == "" {
		header = "kubeflow-userid"
	}
	cfg := map[string]any{
		"DBDriverName": "mysql",
		"DBConfig": map[string]any{
			"MySQLConfig":    map[string]any{"Host": dbHost, "Port": dbPort, "User": "root", "Password": "", "DBName": "mlpipeline", "GroupConcatMaxLen": "4194304"},
			"ConMaxLifeTime": "120s",
		},
		// gofakes3 takes any key; these are upstream's defaults for its MinIO.
		"ObjectStoreConfig": map[string]any{"AccessKey": "minio", "SecretAccessKey": "minio123", "BucketName": "mlpipeline",
			"PipelinePath": "pipelines"},
		"InitConnectionTimeout":               "30s",
		"DEFAULTPIPELINERUNNERSERVICEACCOUNT": "pipeline-runner",
		"CacheEnabled":                        "false",
		"CRON_SCHEDULE_TIMEZONE":              "UTC",
		"MULTIUSER":                           strconv.FormatBool(p.MultiUser),
		"KUBEFLOW_USERID_HEADER":              header,
		"KUBEFLOW_USERID_PREFIX":              p.KFP.UserIDPrefix,
		"POD_NAMESPACE":                       kfpNamespace,
	}
	return cfgDir, filepath.Join(dir, "samples.json"), writeKFPFiles(dir, cfgDir, cfg)
}

func writeKFPFiles(dir, cfgDir string, cfg map[string]any) error {
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(cfgDir, "config.json"), b, 0o600); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "samples.json"), []byte("[]\n"), 0o600)
}

// apiReachesRPC is ready once API calls through the HTTP side get answers from the RPC server: anything but 503
// (gRPC Unavailable: the proxy's connection to the RPC port is down or in backoff). The proxy holds one
// connection per service and version, so each service the checks call is asked. Without an identity the server
// answers 401.
func apiReachesRPC(client *http.Client, base, namespace string) func(context.Context) error {
	var paths []string
	for _, v := range []string{"v1beta1", "v2beta1"} {
		for _, r := range []string{"experiments", "pipelines", "runs"} {
			paths = append(paths, "/apis/"+v+"/"+r+"?namespace="+namespace)
		}
	}
	return func(ctx context.Context) error {
		for _, path := range paths {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
			if err != nil {
				return err
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				return fmt.Errorf("%s does not reach the RPC server yet: %d %s", path, resp.StatusCode, body)
			}
		}
		return nil
	}
}
