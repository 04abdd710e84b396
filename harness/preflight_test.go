package harness

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// TestEveryKubeCheckHasPermissions: the permission table names exactly the checks that need the Kubernetes API,
// and each entry derives a non-empty list.
func TestEveryKubeCheckHasPermissions(t *testing.T) {
	tg := kubeTarget(t)
	for _, c := range checks.All() {
		of, listed := checkPermissions[c.ID]
		if slices.Contains(c.Needs, target.CapKube) != listed {
			t.Errorf("%s: needs kube %v, in the permission table %v", c.ID, slices.Contains(c.Needs, target.CapKube), listed)
			continue
		}
		if !listed {
			continue
		}
		ps, err := of(tg)
		if err != nil || len(ps) == 0 {
			t.Errorf("%s: %d permissions, %v", c.ID, len(ps), err)
		}
	}
	for id := range checkPermissions {
		if _, err := checks.Select([]string{id}); err != nil {
			t.Errorf("the permission table names %s, which is not in the catalogue", id)
		}
	}
}

func kubeTarget(t *testing.T) *target.Target {
	t.Helper()
	p, err := profile.Get("kubeflow")
	if err != nil {
		t.Fatal(err)
	}
	tg, err := target.New(&target.File{Kubeconfig: "unused", InClusterAPIURL: "http://127.0.0.1:1",
		Users: []target.UserSpec{{Email: "owner@example.com", Namespace: "team-a"}}},
		target.Handles{Profile: p, Kube: fake.NewClientset()})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestPermissionsFollowTheSelection: the list comes from the checks that will run; RBAC-003 alone asks for the
// ClusterRole list and not the audit's reads, ISO-009 for those; n/a checks ask nothing.
func TestPermissionsFollowTheSelection(t *testing.T) {
	tg := kubeTarget(t)
	perms := func(only ...string) []string {
		list, err := checks.Select(only)
		if err != nil {
			t.Fatal(err)
		}
		needs, err := Permissions(tg, list)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range needs {
			out = append(out, n.Permission.String()+" <- "+strings.Join(n.Checks, ","))
		}
		return out
	}
	has := func(got []string, want string) bool {
		return slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, want+" <- ") })
	}
	rbac3 := perms("RBAC-003")
	for _, want := range []string{"create namespaces", "create serviceaccounts/token in every namespace",
		"bind clusterroles.rbac.authorization.k8s.io kubeflow-edit", "get clusterroles.rbac.authorization.k8s.io kubeflow-view",
		"list clusterroles.rbac.authorization.k8s.io", "delete rolebindings.rbac.authorization.k8s.io in every namespace",
		"create subjectaccessreviews.authorization.k8s.io"} {
		if !has(rbac3, want) {
			t.Errorf("RBAC-003 lacks %q: %v", want, rbac3)
		}
	}
	for _, not := range []string{"list profiles.kubeflow.org", "delete clusterroles.rbac.authorization.k8s.io", "create jobs.batch in every namespace"} {
		if has(rbac3, not) {
			t.Errorf("RBAC-003 asks for %q: %v", not, rbac3)
		}
	}
	if iso := perms("ISO-009"); !has(iso, "list profiles.kubeflow.org") || !has(iso, "list clusterrolebindings.rbac.authorization.k8s.io") {
		t.Errorf("ISO-009 lacks the audit's reads: %v", iso)
	}
	if got := perms("SETUP", "DEX-LOCAL", "OOB"); len(got) != 0 {
		t.Errorf("checks that do not use the cluster (or are n/a) ask for %v", got)
	}
	if sa7 := perms("SA-007"); !has(sa7, "list poddefaults.kubeflow.org in namespace team-a") || !has(sa7, "create pods in namespace team-a") {
		t.Errorf("SA-007 lacks its reads of the users' namespaces: %v", sa7)
	}
	both := perms("RBAC-001", "RBAC-002")
	if !slices.Contains(both, "create namespaces <- RBAC-001,RBAC-002") {
		t.Errorf("a permission does not name every check that needs it: %v", both)
	}
	tg.ProbeImage = "example.invalid/probe@sha256:0"
	if sa1 := perms("SA-001"); !has(sa1, "create jobs.batch in every namespace") || !has(sa1, "get pods/log in every namespace") {
		t.Errorf("SA-001 with a probe image lacks the Job's permissions: %v", sa1)
	}
}

// TestPermissionErrorIsAConfigError: exit 2 with the stable code, each permission and its checks named.
func TestPermissionErrorIsAConfigError(t *testing.T) {
	err := error(&PermissionError{Identity: "kc", Context: "ctx", Missing: []Needed{
		{Permission: fixtures.TokenRequest, Checks: []string{"SA-001", "RBAC-001"}}}})
	if !IsConfig(err) || IsUnreachable(err) {
		t.Fatalf("IsConfig %v IsUnreachable %v", IsConfig(err), IsUnreachable(err))
	}
	var pe *PermissionError
	if !errors.As(err, &pe) {
		t.Fatal("not a PermissionError")
	}
	msg := err.Error()
	for _, want := range []string{"MISSING_PERMISSIONS", "kubeconfig kc (context ctx)", "create serviceaccounts/token in every namespace (needed by SA-001, RBAC-001)", "nothing was created"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}
