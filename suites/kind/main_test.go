// Package kind_test is the kind tier's end-to-end suite on sigs.k8s.io/e2e-framework: its environment functions
// own the cluster's life cycle through the same code as `run --tier kind` (internal/harness and clusters/kind),
// its features are the catalogue's families and its assessments the checks, each asserting the verdict a
// conforming deployment of the profile gets. A plain `go test` package, so e2e-framework's flags work as
// documented: --labels family=SA, --feature SA, --assess SA-007, --skip-features, --skip-assessment,
// --skip-labels, and --kubeconfig with KFP_AUTHCHECK_TARGET (a target file) to run the same suite against a
// cluster that already runs Kubeflow.
//
// It makes a cluster only when asked (KFP_AUTHCHECK_KIND=1, as make e2e-kind-suite does), so `go test ./...`
// skips it:
//
//	KFP_AUTHCHECK_KIND=1                the suite makes its own kind cluster and deletes it at the end
//	KFP_AUTHCHECK_KIND_PROFILE          the server profile (default kubeflow)
//	KFP_AUTHCHECK_KIND_NODE_IMAGE       the node image (default: the name in bin/kind-node/image, from make
//	                                    kind-node-image, else the pinned kind release's)
//	KFP_AUTHCHECK_KIND_IMAGE            the project's image tarball (default bin/kfp-authcheck-image.tar)
//	KFP_AUTHCHECK_TARGET                with --kubeconfig: the target file of an existing deployment
//
// The CLI does not import this package: e2e-framework and controller-runtime stay in this test binary.
package kind_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/clusters"
	"github.com/kfp-authcheck/kfp-authcheck/clusters/kind"
	"github.com/kfp-authcheck/kfp-authcheck/harness"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

var testenv env.Environment

// suiteKey is where the environment keeps the prepared session in the context.
type suiteKey struct{}

// suite is what the features read: the run's target and check environment, and the stack where the suite made it.
type suite struct {
	session *harness.Session
	env     *checks.Env
	stack   clusters.Stack
}

func fromContext(ctx context.Context, t *testing.T) *suite {
	s, ok := ctx.Value(suiteKey{}).(*suite)
	if !ok {
		t.Fatal("the environment's setup did not run (see TestMain)")
	}
	return s
}

func TestMain(m *testing.M) {
	cfg, err := envconf.NewFromFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kind suite:", err)
		os.Exit(2)
	}
	live := cfg.KubeconfigFile() != ""
	if !live && os.Getenv("KFP_AUTHCHECK_KIND") != "1" {
		fmt.Println("kind suite: skipped (KFP_AUTHCHECK_KIND=1 makes a kind cluster; --kubeconfig with KFP_AUTHCHECK_TARGET uses an existing one)")
		os.Exit(0)
	}
	testenv = env.NewWithConfig(cfg)
	testenv.Setup(func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		c, err := harnessConfig(live)
		if err != nil {
			return ctx, err
		}
		begin := time.Now()
		session, err := harness.Prepare(ctx, c)
		if err != nil {
			session.Close()
			return ctx, err
		}
		fmt.Printf("kind suite: %s up in %s\n", session.Targets[0].Name, time.Since(begin).Round(time.Second))
		s := &suite{session: session, env: checks.NewEnv(session.Targets[0])}
		if len(session.Stacks) == 1 {
			s.stack = session.Stacks[0]
		}
		if cfg.KubeconfigFile() == "" && session.Targets[0].Kubeconfig != "" {
			cfg.WithKubeconfigFile(session.Targets[0].Kubeconfig)
		}
		return context.WithValue(ctx, suiteKey{}, s), nil
	})
	testenv.Finish(func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		s, ok := ctx.Value(suiteKey{}).(*suite)
		if !ok {
			return ctx, nil
		}
		var err error
		if fc := s.env.CloseFixtures(); fc != nil && fc.Error != "" {
			err = fmt.Errorf("the suite's Kubernetes fixtures could not all be removed: %s", fc.Error)
		}
		begin := time.Now()
		s.session.Close()
		fmt.Printf("kind suite: stopped in %s\n", time.Since(begin).Round(time.Second))
		return ctx, err
	})
	os.Exit(testenv.Run(m))
}

// harnessConfig is the run the suite prepares: a kind cluster of the profile, or the target file of a live one.
func harnessConfig(live bool) (harness.Config, error) {
	if live {
		path := os.Getenv("KFP_AUTHCHECK_TARGET")
		if path == "" {
			return harness.Config{}, fmt.Errorf("--kubeconfig names a cluster; KFP_AUTHCHECK_TARGET must name its target file")
		}
		f, err := target.LoadFile(path)
		if err != nil {
			return harness.Config{}, err
		}
		return harness.Config{File: f, FileName: path, Log: os.Stdout}, nil
	}
	name := os.Getenv("KFP_AUTHCHECK_KIND_PROFILE")
	if name == "" {
		name = "kubeflow"
	}
	p, err := profile.Get(name)
	if err != nil {
		return harness.Config{}, err
	}
	root := repoRoot()
	img := os.Getenv("KFP_AUTHCHECK_KIND_IMAGE")
	if img == "" {
		img = filepath.Join(root, "bin", "kfp-authcheck-image.tar")
	}
	node := os.Getenv("KFP_AUTHCHECK_KIND_NODE_IMAGE")
	if node == "" {
		if b, err := os.ReadFile(filepath.Join(root, "bin", "kind-node", "image")); err == nil {
			node = strings.TrimSpace(string(b))
		}
	}
	return harness.Config{Tier: target.TierKind, Profiles: []*profile.Profile{p}, Progress: os.Stdout, Log: os.Stdout,
		Settings: map[string]string{kind.SettingImage: img, kind.SettingNodeImage: node}}, nil
}

// repoRoot is the module's root, two levels up from this package.
func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}
