package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/local"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// fixtureChecks are the checks that create Kubernetes objects.
const fixtureChecks = "SA,RBAC,ISO"

// describedCluster is a running stack's description written as a target file, and a client of its cluster.
type describedCluster struct {
	file   string
	desc   *target.File
	client kubernetes.Interface
	// before are the run IDs labelled in the cluster before the test (a stack's own base fixtures).
	before map[string]bool
}

func describe(t *testing.T, desc *target.File) *describedCluster {
	t.Helper()
	if desc.Kubeconfig == "" {
		t.Fatal("the stack's description has no kubeconfig")
	}
	client, err := target.KubeClient(desc.Kubeconfig, desc.Context, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	dc := &describedCluster{file: writeTarget(t, t.TempDir(), desc), desc: desc, client: client}
	dc.before = dc.runIDs(t)
	return dc
}

func (dc *describedCluster) labelled(t *testing.T, runID string) []fixtures.Object {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	objs, err := fixtures.List(ctx, dc.client, runID)
	if err != nil {
		t.Fatalf("list labelled objects: %v", err)
	}
	return objs
}

// requireNothingLeft lists the run's label: nothing may be there but namespaces whose deletion the API server
// accepted and that wait on the namespace controller (a bare kube-apiserver has none; a cluster finishes them).
func (dc *describedCluster) requireNothingLeft(t *testing.T, runID string) {
	t.Helper()
	if runID == "" {
		t.Fatal("the run reported no fixtures run ID")
	}
	for _, o := range dc.labelled(t, runID) {
		if !o.Terminating || o.Kind != "Namespace" {
			t.Errorf("left behind: %s", o)
		}
	}
}

// runIDs are the run IDs labelled in the cluster now (terminating namespaces of earlier runs included).
func (dc *describedCluster) runIDs(t *testing.T) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for _, o := range dc.labelled(t, "") {
		ids[o.RunID] = true
	}
	return ids
}

// newRunID waits for objects of a run not among known, and returns its ID.
func (dc *describedCluster) newRunID(ctx context.Context, known map[string]bool) (string, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		objs, _ := fixtures.List(ctx, dc.client, "")
		for _, o := range objs {
			if !known[o.RunID] {
				return o.RunID, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no fixture of the run appeared: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// testRunLeavesNothing runs the fixture checks to the end through `run --target` and lists the run's label.
func testRunLeavesNothing(t *testing.T, dc *describedCluster) {
	code, stdout, stderr := runCLI(t, "run", "--target", dc.file, "--only", fixtureChecks, "--format", "json")
	run := decodeRun(t, stdout)
	if code == exitUsage || code == exitUnreachable || run.Fixtures == nil {
		t.Fatalf("exit %d, fixtures %+v\n%s", code, run.Fixtures, stderr)
	}
	if run.Fixtures.Error != "" {
		t.Fatalf("fixture cleanup: %s", run.Fixtures.Error)
	}
	ran := 0
	for _, r := range run.Results {
		if r.Status != result.NA {
			ran++
		}
	}
	if ran == 0 {
		t.Fatalf("no fixture check ran: %v", run.Results)
	}
	t.Logf("%d fixture checks ran; run %s; swept at the end: %v", ran, run.Fixtures.RunID, run.Fixtures.Swept)
	dc.requireNothingLeft(t, run.Fixtures.RunID)
}

// testInterruptedRunLeavesNothing cancels `run` as soon as its first object exists (what Ctrl-C does in-process).
func testInterruptedRunLeavesNothing(t *testing.T, dc *describedCluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runCtx, interrupt := context.WithCancel(ctx)
	var out, errb bytes.Buffer
	known := dc.runIDs(t)
	done := make(chan int, 1)
	go func() {
		done <- execute(runCtx, []string{"run", "--target", dc.file, "--only", fixtureChecks, "--format", "json"}, &out, &errb)
	}()
	seen, err := dc.newRunID(ctx, known)
	interrupt()
	code := <-done
	if err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	run := decodeRun(t, out.String())
	if code != exitUnexpected || run.Aborted == "" {
		t.Fatalf("an interrupted run: exit %d, aborted %q; want 1 and aborted\n%s", code, run.Aborted, errb.String())
	}
	if run.Fixtures == nil || run.Fixtures.RunID != seen {
		t.Fatalf("the run's fixtures report %+v does not name run %s", run.Fixtures, seen)
	}
	if !strings.Contains(errb.String(), "interrupted: stopping the checks and removing") {
		t.Errorf("no word of the interrupt on stderr:\n%s", errb.String())
	}
	dc.requireNothingLeft(t, seen)
}

// testCleanupAfterCrash leaves objects as a killed run would (created, never cleaned up) and removes them with
// `cleanup`, first --dry-run (which removes nothing).
func testCleanupAfterCrash(t *testing.T, dc *describedCluster, via ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	k := fixtures.NewKube(dc.client)
	if err := k.Apply(ctx, fixtures.KubeflowRoles, nil); err != nil {
		t.Fatal(err)
	}
	if err := k.Profile(ctx, k.Name("ns1"), "crash@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := k.Apply(ctx, fixtures.CrossNamespaceEdit, map[string]string{"FROM": k.Name("ns1"), "TO": k.Name("ns1")}); err != nil {
		t.Fatal(err)
	}
	left := dc.labelled(t, k.RunID)
	if len(left) < 4 {
		t.Fatalf("the simulated crash left only %v", left)
	}
	args := append([]string{"cleanup", "--run", k.RunID}, via...)
	code, stdout, stderr := runCLI(t, append(args, "--dry-run")...)
	if code != exitOK || !strings.Contains(stdout, "would delete: Namespace "+k.Name("ns1")) {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if got := dc.labelled(t, k.RunID); len(got) != len(left) {
		t.Fatalf("--dry-run removed something: %d of %d left", len(got), len(left))
	}
	code, stdout, stderr = runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("cleanup: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, o := range left {
		if !o.Terminating && !strings.Contains(stdout, "deleted: "+o.String()) {
			t.Errorf("cleanup did not report deleting %s:\n%s", o, stdout)
		}
	}
	dc.requireNothingLeft(t, k.RunID)
	// the stack's own labelled objects belong to other runs: --run left them alone
	for id := range dc.before {
		if len(dc.labelled(t, id)) == 0 {
			t.Errorf("cleanup --run %s removed run %s's objects", k.RunID, id)
		}
	}
}

func TestFixturesLeaveNothingEmbedded(t *testing.T) {
	_, desc := startStack(t, "kubeflow")
	dc := describe(t, desc)
	t.Run("run", func(t *testing.T) { testRunLeavesNothing(t, dc) })
	t.Run("interrupted", func(t *testing.T) { testInterruptedRunLeavesNothing(t, dc) })
	t.Run("cleanup after a crash", func(t *testing.T) { testCleanupAfterCrash(t, dc, "--kubeconfig", desc.Kubeconfig) })
	t.Run("cleanup through the target file", func(t *testing.T) { testCleanupAfterCrash(t, dc, "--target", dc.file) })
}

func TestCleanupUsageAndUnreachableCluster(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"cleanup"},
		{"cleanup", "--kubeconfig", "k", "--target", "t"},
		{"cleanup", "--target", writeFile(t, dir, "nokube.yaml", []byte("gateway_url: http://127.0.0.1:1\n"))},
		{"cleanup", "--kubeconfig", filepath.Join(dir, "missing")},
		{"cleanup", "--kubeconfig", filepath.Join(dir, "missing"), "--run", "not a label value"},
	} {
		if code, _, stderr := runCLI(t, args...); code != exitUsage || stderr == "" {
			t.Errorf("%v: exit %d (%q), want 2 with a message", args, code, stderr)
		}
	}
	// a cluster that is not there: a closed port
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	kc := writeFile(t, dir, "kubeconfig", []byte(`apiVersion: v1
kind: Config
current-context: gone
clusters: [{name: gone, cluster: {server: "https://`+addr+`", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t0ken}}]
contexts: [{name: gone, context: {cluster: gone, user: u}}]
`))
	start := time.Now()
	code, _, stderr := runCLI(t, "cleanup", "--kubeconfig", kc)
	if code != exitUnreachable || !strings.Contains(stderr, "could not be reached") {
		t.Fatalf("unreachable cluster: exit %d, %q; want 3", code, stderr)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("an unreachable cluster took %s to report", d)
	}
}

// localCluster starts the local tier with a real kube-apiserver (what `serve --tier local --kube` runs), or skips
// when make tools has not built the programs; KFP_AUTHCHECK_REQUIRE_TOOLS=1 makes that a failure.
func localCluster(t *testing.T) (*local.Stack, *describedCluster) {
	t.Helper()
	dir, err := local.ToolsDir()
	if err == nil {
		for _, n := range []string{"dex", "oauth2-proxy", "etcd", "kube-apiserver"} {
			if _, err = os.Stat(filepath.Join(dir, n)); err != nil {
				err = fmt.Errorf("%w: %s", local.ErrToolsMissing, filepath.Join(dir, n))
				break
			}
		}
	}
	if err != nil {
		if os.Getenv("KFP_AUTHCHECK_REQUIRE_TOOLS") == "1" || !errors.Is(err, local.ErrToolsMissing) {
			t.Fatal(err)
		}
		t.Skipf("%v (make tools builds them)", err)
	}
	// The release whose gateway takes cluster tokens, with the PodDefault Kubeflow's CI applies (no default
	// install ships one: the tests of the PodDefault webhook need it).
	p, err := profile.Get("kubeflow-1.10-kind")
	if err != nil {
		t.Fatal(err)
	}
	p.KFP.PodDefault = &profile.PodDefault{Name: "access-ml-pipeline", Label: "access-ml-pipeline"}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := local.Start(ctx, p, local.Options{ToolsDir: dir, Kube: true})
	if err != nil {
		t.Fatalf("start the local tier: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("program logs:\n%s", s.LogTails(4<<10))
		}
		s.Close()
	})
	return s, describe(t, s.Description())
}

func TestFixturesLeaveNothingLocalTier(t *testing.T) {
	s, dc := localCluster(t)
	t.Logf("local tier up in %s; kube-apiserver %s", s.StartupTime, s.Kube.URL)
	t.Run("run", func(t *testing.T) { testRunLeavesNothing(t, dc) })
	t.Run("interrupted", func(t *testing.T) { testInterruptedRunLeavesNothing(t, dc) })
	t.Run("SIGINT to the process", func(t *testing.T) { testSIGINTLeavesNothing(t, dc) })
	t.Run("cleanup after a crash", func(t *testing.T) { testCleanupAfterCrash(t, dc, "--kubeconfig", dc.desc.Kubeconfig) })
	t.Run("in_cluster_api port-forward", func(t *testing.T) { testPortForwardLocal(t, dc) })
}

// testPortForwardLocal points in_cluster_api at Services of the real kube-apiserver. It has no kubelet, so a
// ready pod (its status written through the API) still cannot be reached: kube-apiserver refuses the
// port-forward, and the run says so with PORT_FORWARD; a Service with no ready pod is NO_READY_POD.
func testPortForwardLocal(t *testing.T, dc *describedCluster) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := "kfp-authcheck-forward-test"
	c := dc.client
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}))
	// kube-controller-manager's serviceaccount controller makes "default" in a new namespace too: whoever is
	// first, it exists afterwards (the pod's ServiceAccount admission needs it).
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for name, app := range map[string]string{"ml-pipeline": "ml-pipeline", "nobody-home": "absent"} {
		must(c.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": app},
				Ports: []corev1.ServicePort{{Port: 8888, TargetPort: intstr.FromString("http")}}}}, metav1.CreateOptions{}))
	}
	pod, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "ml-pipeline-0", Labels: map[string]string{"app": "ml-pipeline"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "ghcr.io/kubeflow/kfp-api-server:2.16.0",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8888}}}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	must(c.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}))

	for svc, want := range map[string]result.Reason{"ml-pipeline": result.PortForward, "nobody-home": result.NoReadyPod} {
		f := *dc.desc
		f.InClusterAPIURL = ""
		f.InClusterAPI = &target.ServiceRef{Namespace: ns, Name: svc, Port: 8888}
		file := writeTarget(t, t.TempDir(), &f)
		start := time.Now()
		code, stdout, stderr := runCLI(t, "run", "--target", file, "--only", "SA-001,RBAC-001", "--format", "json")
		run := decodeRun(t, stdout)
		if code != exitUnexpected {
			t.Fatalf("%s: exit %d, want 1\n%s", svc, code, stderr)
		}
		for _, r := range run.Results {
			if r.Status != result.Error || r.Reason != want {
				t.Errorf("%s: %s is %s %s (%s), want error %s", svc, r.ID, r.Status, r.Reason, r.Message, want)
			}
		}
		if !strings.Contains(stderr, "in_cluster_api service "+ns+"/"+svc) {
			t.Errorf("%s: stderr does not name the forward:\n%s", svc, stderr)
		}
		t.Logf("%s: %s in %s: %s", svc, want, time.Since(start).Round(time.Millisecond), run.Results[0].Message)
	}
}

// testSIGINTLeavesNothing runs the built command, sends it SIGINT once its first object exists, and lists the
// run's label once it has exited.
func testSIGINTLeavesNothing(t *testing.T, dc *describedCluster) {
	bin := filepath.Join(t.TempDir(), "kfp-authcheck")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "run", "--target", dc.file, "--only", fixtureChecks, "--format", "json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	known := dc.runIDs(t)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen, err := dc.newRunID(ctx, known)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitUnexpected {
		t.Fatalf("after SIGINT: %v, want exit 1\n%s", err, stderr.String())
	}
	run := decodeRun(t, stdout.String())
	if run.Aborted == "" || run.Fixtures == nil || run.Fixtures.RunID != seen {
		t.Fatalf("aborted %q, fixtures %+v; want an aborted run that names run %s", run.Aborted, run.Fixtures, seen)
	}
	dc.requireNothingLeft(t, seen)
}

// TestCleanupLeavesTheStacksBase: `cleanup` without --run, against a served stack, removes no object of the stack
// itself (its Profiles' namespaces, ServiceAccounts, RoleBindings, Kubeflow's ClusterRoles), and a run passes
// SA-010 after it. Applied through the run-labelled fixture set, they were all deleted.
func TestCleanupLeavesTheStacksBase(t *testing.T) {
	_, desc := startStack(t, "kubeflow")
	dc := describe(t, desc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base := func() int {
		sel := metav1.ListOptions{LabelSelector: fixtures.BaseLabel}
		n := 0
		nss, err := dc.client.CoreV1().Namespaces().List(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		n += len(nss.Items)
		crs, err := dc.client.RbacV1().ClusterRoles().List(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		n += len(crs.Items)
		rbs, err := dc.client.RbacV1().RoleBindings("").List(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		return n + len(rbs.Items)
	}
	before := base()
	if before == 0 {
		t.Fatal("the stack's base objects carry no base label")
	}
	if left := dc.labelled(t, ""); len(left) != 0 {
		t.Fatalf("the stack's own objects carry a run label: %v", left)
	}
	code, stdout, stderr := runCLI(t, "cleanup", "--kubeconfig", desc.Kubeconfig)
	if code != exitOK {
		t.Fatalf("cleanup: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if strings.Contains(stdout, "deleted: ") {
		t.Errorf("cleanup deleted objects of the stack:\n%s", stdout)
	}
	if after := base(); after != before {
		t.Fatalf("cleanup removed base objects: %d of %d left", after, before)
	}
	code, stdout, stderr = runCLI(t, "run", "--target", dc.file, "--only", "SA-010", "--format", "json")
	run := decodeRun(t, stdout)
	if code != exitOK || len(run.Results) != 1 || run.Results[0].Status != result.Pass {
		t.Fatalf("SA-010 after cleanup: exit %d, %+v\n%s", code, run.Results, stderr)
	}
}
