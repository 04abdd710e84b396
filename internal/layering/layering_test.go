// Package layering holds only a test: the module's packages depend on each other one way. The stand-ins
// (mocks/...) may use the harness's packages, never the other way round; the version report does not need the
// checks; the fixtures do not need the report; and RBAC's independent evaluator and the Kubernetes stand-in
// share nothing, so they cannot drift together.
package layering

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const module = "github.com/kfp-authcheck/kfp-authcheck"

// deps maps each package of the module to its transitive (non-test) imports, as `go list -deps` sees them.
func deps(t *testing.T) map[string][]string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the packages with")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	m := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// under reports whether pkg is the package dir of the module or one below it.
func under(pkg, dir string) bool {
	p := module + "/" + dir
	return pkg == p || strings.HasPrefix(pkg, p+"/")
}

func TestLayering(t *testing.T) {
	all := deps(t)
	for _, rule := range []struct {
		from, notOn, why string
	}{
		{"checks", "mocks", "the checks judge targets; the stand-ins are one kind of target"},
		{"internal/slapd", "mocks", "the real directory's runner is compared with the LDAP stand-in, not built on it"},
		{"report/versions", "checks", "the version report needs a client for the target, not the checks"},
		{"fixtures", "report", "fixtures read a run's JSON through the result model"},
		{"internal/rbaceval", "mocks", "RBAC's independent evaluator must not share code with the Kubernetes stand-in"},
		{"mocks", "internal/rbaceval", "the Kubernetes stand-in must not use the evaluator that judges it"},
		{"internal/kfpsar", "mocks", "KFP's SubjectAccessReview is shared by the checks and the KFP stand-in"},
		{"auth/targetclient", "checks", "the target's clients are shared by the checks and the version report"},
		{"checks", "clusters", "the checks see a Target, never the tier that made it"},
		{"checks", "harness", "the harness runs the checks, not the other way round"},
		{"target", "clusters", "the Target is built from a description and handles; tiers produce them"},
		{"profile", "target", "a server profile is data, below the Target"},
	} {
		found := false
		for pkg, ds := range all {
			if !under(pkg, rule.from) {
				continue
			}
			found = true
			for _, d := range ds {
				if under(d, rule.notOn) {
					t.Errorf("%s depends on %s (%s must not depend on %s: %s)", pkg, d, rule.from, rule.notOn, rule.why)
				}
			}
		}
		if !found {
			t.Errorf("no package %s: the rule %q guards nothing", rule.from, rule.from+" not on "+rule.notOn)
		}
	}
}

// TestTiersPlugIn: only the harness names the tier packages (one import line each); the command, the suites and
// the fidelity comparison reach tiers through it, and the registry knows no tier. Direct imports, non-test.
func TestTiersPlugIn(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the packages with")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	tiers := []string{"clusters/embedded", "clusters/local", "clusters/kind"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := f[0]
		if under(pkg, "harness") {
			continue
		}
		for _, imp := range f[1:] {
			for _, tier := range tiers {
				if imp != module+"/"+tier || under(pkg, tier) {
					continue
				}
				switch {
				case pkg == module+"/clusters", under(pkg, "cmd"), under(pkg, "suites"), under(pkg, "harness/fidelity"), under(pkg, "checks"):
					t.Errorf("%s imports the tier package %s: tiers plug in through clusters.Register and harness", pkg, imp)
				}
			}
		}
	}
}
