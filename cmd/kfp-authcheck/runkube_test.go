package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/harness"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// kubeOnly are the checks a --kubeconfig run is compared on.
const kubeOnly = "SA,RBAC,ISO"

// differsWithoutGateway are the checks of kubeOnly a run through a target file can run and a --kubeconfig run
// cannot, with why: no gateway (the users' namespaces come from --profile-namespace).
var differsWithoutGateway = map[string]string{
	"ISO-007": target.NoGatewayReason,
	"ISO-008": target.NoGatewayReason,
}

// TestRunKubeconfigLocalTier: on the local tier's real kube-apiserver, `run --kubeconfig` (no target file, no
// gateway) gives the SA, RBAC and ISO verdicts `run --target` gives, the gateway's and the users' checks n/a with
// their reason; an identity bound to the derived permissions but one is refused before anything is created
// (MISSING_PERMISSIONS, exit 2), and bound to all of them it gets the same verdicts as the cluster admin.
func TestRunKubeconfigLocalTier(t *testing.T) {
	_, dc := localCluster(t)
	start := time.Now()
	code, stdout, stderr := runCLI(t, "run", "--target", dc.file, "--only", kubeOnly, "--format", "json")
	viaFile := decodeRun(t, stdout)
	if code == exitUsage || code == exitUnreachable {
		t.Fatalf("run --target: exit %d\n%s", code, stderr)
	}
	t.Logf("run --target: exit %d in %s", code, time.Since(start).Round(time.Millisecond))

	kubeRun := func(kubeconfig string) (int, *result.Run, string) {
		t.Helper()
		args := []string{"run", "--kubeconfig", kubeconfig, "--profile", dc.desc.Profile,
			"--in-cluster-api-url", dc.desc.InClusterAPIURL, "--only", kubeOnly, "--format", "json"}
		if dc.desc.Context != "" {
			args = append(args, "--context", dc.desc.Context)
		}
		for _, u := range dc.desc.Users {
			if u.Namespace != "" {
				args = append(args, "--profile-namespace", u.Namespace+"="+u.Email)
			}
		}
		start := time.Now()
		code, stdout, stderr := runCLI(t, args...)
		t.Logf("run --kubeconfig: exit %d in %s", code, time.Since(start).Round(time.Millisecond))
		if code == exitUsage || code == exitUnreachable {
			return code, nil, stderr
		}
		return code, decodeRun(t, stdout), stderr
	}
	code, viaKube, stderr := kubeRun(dc.desc.Kubeconfig)
	if viaKube == nil {
		t.Fatalf("run --kubeconfig: exit %d\n%s", code, stderr)
	}
	if i := strings.Index(stderr, "holds the"); i < 0 {
		t.Errorf("the permission check is not reported:\n%s", stderr)
	} else {
		t.Logf("...%s", strings.SplitN(stderr[i:], "\n", 2)[0])
	}
	if viaKube.Fixtures == nil || viaKube.Fixtures.Error != "" {
		t.Fatalf("fixtures: %+v", viaKube.Fixtures)
	}
	dc.requireNothingLeft(t, viaKube.Fixtures.RunID)
	ran := compareVerdicts(t, viaFile, viaKube)
	if ran < 10 {
		t.Errorf("only %d checks ran through --kubeconfig", ran)
	}

	// An identity bound to what the run needs, and to all but one of it.
	p, err := profile.Get(dc.desc.Profile)
	if err != nil {
		t.Fatal(err)
	}
	desc := &target.File{Kubeconfig: dc.desc.Kubeconfig, Context: dc.desc.Context, InClusterAPIURL: dc.desc.InClusterAPIURL}
	for _, u := range dc.desc.Users {
		if u.Namespace != "" {
			desc.Users = append(desc.Users, target.UserSpec{Email: u.Email, Namespace: u.Namespace})
		}
	}
	tg, err := target.New(desc, target.Handles{Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	list, err := checks.Select(splitList(kubeOnly))
	if err != nil {
		t.Fatal(err)
	}
	needs, err := harness.Permissions(tg, list)
	if err != nil {
		t.Fatal(err)
	}
	var dropped harness.Needed
	for _, n := range needs {
		if n.Permission == fixtures.TokenRequest {
			dropped = n
		}
	}
	if dropped.Checks == nil {
		t.Fatalf("the derived permissions lack TokenRequest: %v", needs)
	}
	t.Run("too little", func(t *testing.T) {
		kc := restrictedKubeconfig(t, dc, "too-little", needs, fixtures.TokenRequest)
		before := dc.runIDs(t)
		namespaces := countNamespaces(t, dc)
		code, _, stderr := kubeRun(kc)
		if code != exitUsage {
			t.Fatalf("exit %d, want 2\n%s", code, stderr)
		}
		want := fmt.Sprintf("%s (needed by %s)", fixtures.TokenRequest, strings.Join(dropped.Checks, ", "))
		for _, w := range []string{harness.ReasonMissingPermissions, want, "lacks 1 permission(s)", "nothing was created"} {
			if !strings.Contains(stderr, w) {
				t.Errorf("stderr lacks %q:\n%s", w, stderr)
			}
		}
		t.Logf("refused:\n%s", stderr)
		if after := dc.runIDs(t); len(after) != len(before) {
			t.Errorf("labelled objects of a refused run: before %v, after %v", before, after)
		}
		if n := countNamespaces(t, dc); n != namespaces {
			t.Errorf("namespaces: %d before, %d after", namespaces, n)
		}
	})
	t.Run("credentials refused", func(t *testing.T) {
		cfg, err := clientcmd.LoadFromFile(dc.desc.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		for _, ai := range cfg.AuthInfos {
			ai.ClientCertificate, ai.ClientKey, ai.ClientCertificateData, ai.ClientKeyData = "", "", nil, nil
			ai.Token, ai.TokenFile = "not-a-token", ""
		}
		path := filepath.Join(t.TempDir(), "refused.kubeconfig")
		if err := clientcmd.WriteToFile(*cfg, path); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := kubeRun(path)
		if code != exitUsage || !strings.Contains(stderr, "refused its credentials") || strings.Contains(stderr, "not-a-token") {
			t.Errorf("exit %d, want 2 naming the refused credentials (and not the token)\n%s", code, stderr)
		}
	})
	t.Run("enough", func(t *testing.T) {
		kc := restrictedKubeconfig(t, dc, "enough", needs, fixtures.Permission{})
		code, run, stderr := kubeRun(kc)
		if run == nil {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		for i, r := range run.Results {
			if r.Status != viaKube.Results[i].Status || r.Reason != viaKube.Results[i].Reason {
				t.Errorf("%s: %s %s (%s) as the bound identity, %s %s as the admin", r.ID, r.Status, r.Reason, r.Message,
					viaKube.Results[i].Status, viaKube.Results[i].Reason)
			}
		}
		dc.requireNothingLeft(t, run.Fixtures.RunID)
	})
}

// compareVerdicts requires every check to have the same status and reason through both runs, except the ones a
// run without gateway and users cannot do, which must be n/a saying why. It returns how many ran through both.
func compareVerdicts(t *testing.T, viaFile, viaKube *result.Run) int {
	t.Helper()
	if len(viaFile.Results) != len(viaKube.Results) {
		t.Fatalf("%d results through the file, %d through --kubeconfig", len(viaFile.Results), len(viaKube.Results))
	}
	ran := 0
	for i, a := range viaFile.Results {
		b := viaKube.Results[i]
		if why, ok := differsWithoutGateway[a.ID]; ok && a.Status != result.NA {
			if b.Status != result.NA || !strings.Contains(b.Message, why) {
				t.Errorf("%s: %s %s (%s) through --kubeconfig, want n/a: %s", b.ID, b.Status, b.Reason, b.Message, why)
			}
			continue
		}
		if a.Status != b.Status || a.Reason != b.Reason {
			t.Errorf("%s: %s %s (%s) through the file, %s %s (%s) through --kubeconfig", a.ID, a.Status, a.Reason, a.Message,
				b.Status, b.Reason, b.Message)
		}
		if b.Status != result.NA {
			ran++
		}
		t.Logf("%-8s %-5s %-5s", a.ID, a.Status, b.Status)
	}
	return ran
}

// restrictedKubeconfig makes a ServiceAccount bound cluster-wide to needs (without drop; namespaced ones too), and a kubeconfig that
// authenticates as it with a TokenRequest token, against the same kube-apiserver.
func restrictedKubeconfig(t *testing.T, dc *describedCluster, name string, needs []harness.Needed, drop fixtures.Permission) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dc.client
	ns := "perm-test-" + name
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	for _, n := range needs {
		p := n.Permission
		if p == drop {
			continue
		}
		// A permission in one namespace is granted in every one here (a ClusterRole's rules).
		res := p.Resource
		if p.Subresource != "" {
			res += "/" + p.Subresource
		}
		rule := rbacv1.PolicyRule{Verbs: []string{p.Verb}, APIGroups: []string{p.Group}, Resources: []string{res}}
		if p.Name != "" {
			rule.ResourceNames = []string{p.Name}
		}
		role.Rules = append(role.Rules, rule)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "harness", Namespace: ns}}}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}))
	must(c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "harness"}}, metav1.CreateOptions{}))
	must(c.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}))
	must(c.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = c.RbacV1().ClusterRoleBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{})
		_ = c.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{})
		_ = c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	})
	tok, err := c.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "harness", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.LoadFromFile(dc.desc.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, ai := range cfg.AuthInfos {
		ai.ClientCertificate, ai.ClientKey, ai.ClientCertificateData, ai.ClientKeyData = "", "", nil, nil
		ai.Token, ai.TokenFile = tok.Status.Token, ""
	}
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func countNamespaces(t *testing.T, dc *describedCluster) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := dc.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Items)
}

// TestRunKubeconfigFlags: --dry-run plans a --kubeconfig run (the gateway's checks n/a with the reason, the KFP
// API's port-forward from the default Service, the permissions asked first) without touching the cluster, and
// the flags that do not go together are usage errors.
func TestRunKubeconfigFlags(t *testing.T) {
	dir := t.TempDir()
	// A kubeconfig whose server does not exist: the dry run never dials it.
	kc := tokenKubeconfig(t, dir, "kubeconfig", "kube.invalid:6443")
	code, stdout, stderr := runCLI(t, "run", "--kubeconfig", kc, "--context", "c", "--only", "SETUP-001,DEX-LOCAL-001,RBAC-001,ISO-007", "--dry-run")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"target kubeconfig " + kc + " (context c): tier live, profile kubeflow",
		`"profile": "default for --kubeconfig (kubeflow)"`, `"in_cluster_api": "default (kubeflow/ml-pipeline:8888)"`,
		"n/a  SETUP-001      " + target.NoGatewayReason, "n/a  DEX-LOCAL-001  " + target.NoGatewayReason,
		"n/a  ISO-007        " + target.NoGatewayReason, "run  RBAC-001", "in_cluster_api kubeflow/ml-pipeline:8888: a port-forward",
		"SelfSubjectAccessReview(s) ask for the permissions", "create serviceaccounts/token in every namespace"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = runCLI(t, "run", "--kubeconfig", kc, "--in-cluster-api-url", "http://127.0.0.1:1", "--only", "RBAC-001", "--dry-run")
	if code != exitOK || !strings.Contains(stdout, `"in_cluster_api": "flag (--in-cluster-api-url)"`) || strings.Contains(stdout, "port-forward") {
		t.Errorf("--in-cluster-api-url: exit %d\n%s", code, stdout)
	}

	// A cluster that does not answer is the whole target: exit 3, the reports still written.
	deadKC := tokenKubeconfig(t, dir, "dead.kubeconfig", deadAddr(t))
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "run", "--kubeconfig", deadKC, "--only", "RBAC-001", "--format", "json", "--out", out)
	if code != exitUnreachable {
		t.Fatalf("an unreachable cluster: exit %d, want 3\n%s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "kfp-authcheck.json"))
	if err != nil {
		t.Fatal(err)
	}
	run := decodeRun(t, string(b))
	if run.Target != "kubeconfig "+deadKC || run.Tier != "live" || run.Results[0].Reason != result.Unreachable ||
		!strings.Contains(run.Results[0].Message, "SelfSubjectAccessReview") {
		t.Errorf("the unreachable run's report: target %q tier %q %s %s", run.Target, run.Tier, run.Results[0].Reason, run.Results[0].Message)
	}

	target := writeFile(t, dir, "target.yaml", []byte("gateway_url: http://127.0.0.1:1\n"))
	for name, args := range map[string][]string{
		"with --target":           {"--target", target, "--kubeconfig", kc},
		"--context alone":         {"--context", "c"},
		"--in-cluster-api alone":  {"--in-cluster-api", "kubeflow/ml-pipeline:8888"},
		"both in-cluster flags":   {"--kubeconfig", kc, "--in-cluster-api", "a/b:1", "--in-cluster-api-url", "http://x"},
		"bad service":             {"--kubeconfig", kc, "--in-cluster-api", "ml-pipeline:8888"},
		"bad port":                {"--kubeconfig", kc, "--in-cluster-api", "kubeflow/ml-pipeline:0"},
		"with --tier":             {"--kubeconfig", kc, "--tier", "local"},
		"profile auto":            {"--kubeconfig", kc, "--profile", "auto"},
		"two profiles":            {"--kubeconfig", kc, "--profile", "kubeflow,deploykf"},
		"namespace without owner": {"--kubeconfig", kc, "--profile-namespace", "team-a"},
		"namespace alone":         {"--profile-namespace", "team-a=a@example.com"},
		"absent kubeconfig":       {"--kubeconfig", filepath.Join(dir, "absent")},
	} {
		code, _, stderr := runCLI(t, append([]string{"run", "--dry-run"}, args...)...)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want 2\n%s", name, code, stderr)
		}
	}
}
