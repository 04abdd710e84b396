// Package kind makes and removes kind clusters through sigs.k8s.io/kind's Go API (cluster.NewProvider): the
// cluster configuration Kubeflow's own kind tests use, a node image pinned by digest, and a check for a running
// Docker engine that says plainly when there is none.
package kind

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	kindlog "sigs.k8s.io/kind/pkg/log"

	"sigs.k8s.io/kind/pkg/apis/config/defaults"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/yaml"
)

// NodeImage is the node image of the pinned kind release (v0.30.0: Kubernetes v1.34.0, the minor of the local
// tier's kube-apiserver), pinned by digest: the default, for machines that reach its registry. Where none is
// reachable, `make kind-node-image` builds one from pinned sources and --kind-node-image names it.
const NodeImage = defaults.Image

// ServiceAccountIssuer is the issuer Kubeflow's kind tests give kube-apiserver from v1.10 on (WIRE-FACTS.md 1.6),
// the one the m2m-dex-and-kind overlay's second rule expects.
const ServiceAccountIssuer = "https://kubernetes.default.svc"

// ErrNoDocker is the cause when no Docker engine answers: the kind tier cannot run on this machine.
var ErrNoDocker = errors.New("no Docker engine")

// Config is the kind cluster for the harness: one control plane with the node image above and the kubeadm patch
// that sets the ServiceAccount issuer and signing key, as kubeflow/manifests' kind script does.
func Config(name string) *v1alpha4.Cluster { return ConfigWithImage(name, "") }

// ConfigWithImage is Config on another node image (empty: NodeImage).
func ConfigWithImage(name, nodeImage string) *v1alpha4.Cluster {
	if nodeImage == "" {
		nodeImage = NodeImage
	}
	patch := strings.Join([]string{
		"kind: ClusterConfiguration",
		"apiServer:",
		"  extraArgs:",
		"    service-account-issuer: " + ServiceAccountIssuer,
		"    service-account-signing-key-file: /etc/kubernetes/pki/sa.key",
	}, "\n")
	return &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Name:     name,
		Nodes: []v1alpha4.Node{{
			Role:                 v1alpha4.ControlPlaneRole,
			Image:                nodeImage,
			KubeadmConfigPatches: []string{patch},
		}},
	}
}

// ConfigYAML is Config as the YAML a person would pass to `kind create cluster --config`.
func ConfigYAML(name string) ([]byte, error) { return ConfigYAMLWithImage(name, "") }

// ConfigYAMLWithImage is ConfigWithImage as YAML.
func ConfigYAMLWithImage(name, nodeImage string) ([]byte, error) {
	return yaml.Marshal(ConfigWithImage(name, nodeImage))
}

// CheckDocker asks the Docker engine for its version, within the deadline. A missing docker command and a client
// whose engine does not answer both wrap ErrNoDocker, with what docker said.
func CheckDocker(ctx context.Context, timeout time.Duration) error {
	if _, err := exec.LookPath("docker"); err != nil {
		return fmt.Errorf("%w: the docker command is not installed (the kind tier needs Docker, e.g. on GitHub Actions)", ErrNoDocker)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return fmt.Errorf("%w: docker info did not answer within %s", ErrNoDocker, timeout)
	}
	if err != nil || strings.TrimSpace(string(out)) == "" {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		if msg == "" && err != nil {
			msg = err.Error()
		}
		return fmt.Errorf("%w: the docker client is here but no engine answers (%s)", ErrNoDocker, msg)
	}
	return nil
}

// Options tune Create.
type Options struct {
	// Name of the cluster; a run-unique one is best ("kfp-authcheck-<run id>").
	Name string
	// NodeImage is the node image (empty: NodeImage, the pinned kind release's).
	NodeImage string
	// Dir receives the kubeconfig (mode 0600, as kind writes it).
	Dir string
	// WaitForReady bounds the wait for the control plane (default 5 minutes).
	WaitForReady time.Duration
	// Log gets kind's progress lines; nil discards them.
	Log io.Writer
}

// Cluster is a kind cluster this process made.
type Cluster struct {
	Name       string
	Kubeconfig string
	provider   *cluster.Provider
}

// Create makes the cluster through kind's own configuration loader (the YAML of ConfigYAML, parsed strictly and
// validated by kind before anything is started). On failure kind removes what it started.
func Create(opts Options) (*Cluster, error) {
	if opts.Name == "" {
		return nil, errors.New("kind: a cluster name is required")
	}
	if opts.WaitForReady == 0 {
		opts.WaitForReady = 5 * time.Minute
	}
	raw, err := ConfigYAMLWithImage(opts.Name, opts.NodeImage)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Name: opts.Name, Kubeconfig: filepath.Join(opts.Dir, "kubeconfig"),
		provider: cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(logger(opts.Log)))}
	if err := c.create(raw, opts.WaitForReady); err != nil {
		return nil, fmt.Errorf("kind: create cluster %s: %w", opts.Name, err)
	}
	if err := os.Chmod(c.Kubeconfig, 0o600); err != nil {
		return nil, err
	}
	return c, nil
}

// create hands kind the configuration as raw YAML, so kind's own loader parses it (tests feed it broken ones).
func (c *Cluster) create(raw []byte, wait time.Duration) error {
	return c.provider.Create(c.Name,
		cluster.CreateWithRawConfig(raw),
		cluster.CreateWithWaitForReady(wait),
		cluster.CreateWithKubeconfigPath(c.Kubeconfig),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	)
}

// Delete removes the cluster and its kubeconfig entry.
func (c *Cluster) Delete() error {
	if err := c.provider.Delete(c.Name, c.Kubeconfig); err != nil {
		return fmt.Errorf("kind: delete cluster %s: %w", c.Name, err)
	}
	return nil
}

func logger(w io.Writer) kindlog.Logger {
	if w == nil {
		return kindlog.NoopLogger{}
	}
	return &lineLogger{w: w}
}

// lineLogger prints kind's info lines and warnings; its debug levels (V(1) and up) are dropped.
type lineLogger struct{ w io.Writer }

func (l *lineLogger) Warn(m string)                    { fmt.Fprintln(l.w, "kind: warning:", m) }
func (l *lineLogger) Warnf(f string, a ...interface{}) { l.Warn(fmt.Sprintf(f, a...)) }
func (l *lineLogger) Error(m string)                   { fmt.Fprintln(l.w, "kind: error:", m) }
func (l *lineLogger) Errorf(f string, a ...interface{}) {
	l.Error(fmt.Sprintf(f, a...))
}
func (l *lineLogger) V(level kindlog.Level) kindlog.InfoLogger {
	if level > 0 {
		return kindlog.NoopInfoLogger{}
	}
	return infoLogger{l.w}
}

type infoLogger struct{ w io.Writer }

func (i infoLogger) Info(m string)                    { fmt.Fprintln(i.w, "kind:", strings.TrimRight(m, "\n")) }
func (i infoLogger) Infof(f string, a ...interface{}) { i.Info(fmt.Sprintf(f, a...)) }
func (i infoLogger) Enabled() bool                    { return true }
