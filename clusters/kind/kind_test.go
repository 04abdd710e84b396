package kind

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/kind/pkg/cluster"
	kindlog "sigs.k8s.io/kind/pkg/log"

	"github.com/kfp-authcheck/kfp-authcheck/clusters"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// The test binary doubles as a fake docker client: linked as "docker" on PATH, it answers what kind asks before
// it starts anything (docker info, the list of existing nodes, the node image being present) and refuses the
// first command that would provision (the network), so kind's own loader and validation run on our config and
// nothing else happens. Every call is appended to $FAKE_DOCKER_LOG.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "docker" {
		os.Exit(fakeDocker(os.Args[1:]))
	}
	os.Exit(m.Run())
}

const provisionRefused = "fake docker: this test stops kind before it provisions"

func fakeDocker(args []string) int {
	if f, err := os.OpenFile(os.Getenv("FAKE_DOCKER_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
		fmt.Fprintln(f, strings.Join(args, " "))
		f.Close()
	}
	mode := os.Getenv("FAKE_DOCKER_MODE")
	switch {
	case len(args) > 0 && args[0] == "info":
		if mode == "no-engine" {
			fmt.Fprintln(os.Stderr, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
			return 1
		}
		if len(args) > 2 && args[2] == "{{.ServerVersion}}" {
			fmt.Println("28.2.2")
			return 0
		}
		fmt.Println(`{"CgroupDriver":"systemd","CgroupVersion":"2","MemoryLimit":true,"PidsLimit":true,"CPUShares":true}`)
		return 0
	case len(args) > 0 && args[0] == "ps":
		return 0 // no node of this cluster exists yet
	case len(args) > 1 && args[0] == "inspect" && args[1] == "--type=image":
		return 0 // the node image is present: no pull
	}
	fmt.Fprintln(os.Stderr, provisionRefused)
	return 1
}

// fakeDockerOnPath puts the fake first on PATH and returns the file its calls are logged to.
func fakeDockerOnPath(t *testing.T, mode string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(self, filepath.Join(dir, "docker")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	log := filepath.Join(dir, "calls.log")
	t.Setenv("FAKE_DOCKER_LOG", log)
	t.Setenv("FAKE_DOCKER_MODE", mode)
	return log
}

// TestConfigPassesKindsLoaderAndValidation: kind parses our YAML strictly, defaults and validates it, and only
// then asks for the node image, which must be the pinned one, by digest.
func TestConfigPassesKindsLoaderAndValidation(t *testing.T) {
	log := fakeDockerOnPath(t, "")
	_, err := Create(Options{Name: "kfp-authcheck-test", Dir: t.TempDir(), WaitForReady: time.Second})
	if err == nil || !strings.Contains(err.Error(), "failed to ensure docker network") {
		t.Fatalf("want kind to reach provisioning (the network step) and stop there; got %v", err)
	}
	calls, _ := os.ReadFile(log)
	if !strings.Contains(string(calls), "inspect --type=image "+NodeImage) {
		t.Errorf("kind did not ask for the pinned node image %s; calls:\n%s", NodeImage, calls)
	}
	if !strings.Contains(NodeImage, "@sha256:") {
		t.Errorf("node image %s is not pinned by digest", NodeImage)
	}
}

// TestKindRefusesABrokenConfig proves the loader is kind's and strict: the same path with an unknown field fails
// to decode, and an impossible node role fails validation, before any provisioning.
func TestKindRefusesABrokenConfig(t *testing.T) {
	fakeDockerOnPath(t, "")
	good, err := ConfigYAML("kfp-authcheck-test")
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ raw, want string }{
		"unknown field": {strings.Replace(string(good), "nodes:", "nodez: []\nnodes:", 1), "unable to decode config"},
		"bad role":      {strings.Replace(string(good), "role: control-plane", "role: master", 1), "is not a valid node role"},
	} {
		k := &Cluster{Name: "kfp-authcheck-test", Kubeconfig: filepath.Join(t.TempDir(), "kubeconfig"),
			provider: cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindlog.NoopLogger{}))}
		err := k.create([]byte(c.raw), time.Second)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "docker network") {
			t.Errorf("%s: want kind's %q before provisioning, got %v", name, c.want, err)
		}
	}
}

func TestConfigYAML(t *testing.T) {
	raw, err := ConfigYAML("x")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"apiVersion: kind.x-k8s.io/v1alpha4", "kind: Cluster", "service-account-issuer: " + ServiceAccountIssuer,
		"service-account-signing-key-file: /etc/kubernetes/pki/sa.key", "image: " + NodeImage} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("config lacks %q:\n%s", want, raw)
		}
	}
}

func TestCheckDocker(t *testing.T) {
	fakeDockerOnPath(t, "no-engine")
	err := CheckDocker(context.Background(), 5*time.Second)
	if !errors.Is(err, ErrNoDocker) || !strings.Contains(err.Error(), "Cannot connect to the Docker daemon") {
		t.Errorf("no engine: got %v", err)
	}
	fakeDockerOnPath(t, "")
	if err := CheckDocker(context.Background(), 5*time.Second); err != nil {
		t.Errorf("engine answering: got %v", err)
	}
	t.Setenv("PATH", t.TempDir())
	if err := CheckDocker(context.Background(), time.Second); !errors.Is(err, ErrNoDocker) || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("no docker command: got %v", err)
	}
}

// TestNodeImageSetting: --kind-node-image reaches kind (it asks the engine for that image, not the pinned one),
// the plan names it, and a name that is no image reference is a usage error before anything starts.
func TestNodeImageSetting(t *testing.T) {
	const local = "kfp-authcheck.local/kind-node:v1.34.4-0123456789ab"
	log := fakeDockerOnPath(t, "")
	_, err := Create(Options{Name: "kfp-authcheck-test", Dir: t.TempDir(), WaitForReady: time.Second, NodeImage: local})
	if err == nil || !strings.Contains(err.Error(), "failed to ensure docker network") {
		t.Fatalf("want kind to reach provisioning and stop there; got %v", err)
	}
	calls, _ := os.ReadFile(log)
	if !strings.Contains(string(calls), "inspect --type=image "+local) || strings.Contains(string(calls), NodeImage) {
		t.Errorf("kind did not ask for %s alone; calls:\n%s", local, calls)
	}

	var tier Tier
	opts := clusters.Options{Settings: map[string]string{SettingNodeImage: local}}
	if err := tier.Validate(opts); err != nil {
		t.Errorf("a local node image: %v", err)
	}
	p, err := profile.Get("kubeflow")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := tier.Plan(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(plan.Fixtures, "\n"), "a kind cluster ("+local+")") {
		t.Errorf("the plan does not name the node image: %v", plan.Fixtures)
	}
	plan, _ = tier.Plan(p, clusters.Options{})
	if !strings.Contains(strings.Join(plan.Fixtures, "\n"), "a kind cluster ("+NodeImage+")") {
		t.Errorf("without the setting the plan does not name the pinned image: %v", plan.Fixtures)
	}
	for _, bad := range []string{"Not An Image", "kind-node:"} {
		opts.Settings[SettingNodeImage] = bad
		if err := tier.Validate(opts); err == nil || !strings.Contains(err.Error(), "--kind-node-image") {
			t.Errorf("--kind-node-image %q: %v", bad, err)
		}
	}
}
