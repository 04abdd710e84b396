// Package suites_test checks that the ginkgo suites under suites/ together run every check family of the
// catalogue: a new family needs a suite (a suites/<x>/ folder calling framework.DescribeChecks), and nothing else
// fails when it is forgotten.
package suites_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
)

const frameworkPath = "github.com/kfp-authcheck/kfp-authcheck/suites/framework"

// TestEveryCheckFamilyIsRunByASuite reads which families each suite passes to framework.DescribeChecks and fails
// for every family of the catalogue that no suite runs, and for every family a suite names that has no checks (a
// typo there registers no spec and passes).
func TestEveryCheckFamilyIsRunByASuite(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("*", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	declared, err := suiteFamilies(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(declared) == 0 {
		t.Fatalf("no suite under suites/ calls framework.DescribeChecks (read %d files): the reading is broken", len(files))
	}
	required := checkFamilies()
	for _, f := range uncovered(required, declared) {
		t.Errorf("check family %s is run by no ginkgo suite under suites/: add one (a suites/<x>/ folder whose suite "+
			"calls framework.DescribeChecks(%q)) or name it in an existing suite's DescribeChecks", f, f)
	}
	for _, u := range unknownFamilies(required, declared) {
		t.Errorf("suites/%s runs family %q, which has no checks in the catalogue (checks.All): its DescribeChecks registers no spec for it", u[0], u[1])
	}
	for _, f := range checks.Families {
		if !slices.Contains(required, f) {
			t.Logf("family %s is declared (result.Families) but has no checks yet: no suite is required for it", f)
		}
	}
}

// checkFamilies are the families of the catalogue's checks, in catalogue order.
func checkFamilies() []string {
	var fs []string
	for _, c := range checks.All() {
		if !slices.Contains(fs, c.Family) {
			fs = append(fs, c.Family)
		}
	}
	return fs
}

// uncovered are the required families no suite declares, in the order of required.
func uncovered(required []string, declared map[string][]string) []string {
	var out []string
	for _, f := range required {
		found := false
		for _, fs := range declared {
			found = found || slices.Contains(fs, f)
		}
		if !found {
			out = append(out, f)
		}
	}
	return out
}

// unknownFamilies are the (suite, family) pairs where a suite names a family that is not in known, sorted.
func unknownFamilies(known []string, declared map[string][]string) [][2]string {
	var out [][2]string
	for suite, fs := range declared {
		for _, f := range fs {
			if !slices.Contains(known, f) {
				out = append(out, [2]string{suite, f})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0]+"\x00"+out[i][1] < out[j][0]+"\x00"+out[j][1] })
	return out
}

// suiteFamilies parses the given Go files and returns, per directory (a suite), the families its calls to
// framework.DescribeChecks name. A directory without such a call is absent.
func suiteFamilies(files []string) (map[string][]string, error) {
	fset := token.NewFileSet()
	out := map[string][]string{}
	for _, file := range files {
		fs, err := describedFamilies(fset, file, nil)
		if err != nil {
			return nil, err
		}
		if len(fs) > 0 {
			dir := filepath.Base(filepath.Dir(file))
			out[dir] = append(out[dir], fs...)
		}
	}
	return out, nil
}

// describedFamilies are the families the calls to framework.DescribeChecks in one file name (src as for
// parser.ParseFile: nil reads the file). A call whose families are not string literals is an error: the test
// could not tell what it runs.
func describedFamilies(fset *token.FileSet, filename string, src any) ([]string, error) {
	f, err := parser.ParseFile(fset, filename, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	local := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == frameworkPath {
			local = "framework"
			if imp.Name != nil {
				local = imp.Name.Name
			}
		}
	}
	if local == "" || local == "_" {
		return nil, nil
	}
	var fams []string
	var errs []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || !isDescribeChecks(call.Fun, local) {
			return true
		}
		where := fset.Position(call.Pos())
		if call.Ellipsis.IsValid() {
			errs = append(errs, fmt.Sprintf("%s: DescribeChecks with a spread list: name the families as string literals", where))
			return true
		}
		for _, a := range call.Args {
			lit, ok := a.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				errs = append(errs, fmt.Sprintf("%s: DescribeChecks with a family that is not a string literal: name it as one so the coverage test can read it", where))
				continue
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", where, err))
				continue
			}
			fams = append(fams, s)
		}
		return true
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return fams, nil
}

// isDescribeChecks says whether fun is the framework's DescribeChecks under its local import name ("." for a dot
// import).
func isDescribeChecks(fun ast.Expr, local string) bool {
	switch f := fun.(type) {
	case *ast.SelectorExpr:
		x, ok := f.X.(*ast.Ident)
		return ok && local != "." && x.Name == local && f.Sel.Name == "DescribeChecks"
	case *ast.Ident:
		return local == "." && f.Name == "DescribeChecks"
	}
	return false
}

func TestUncovered(t *testing.T) {
	for _, c := range []struct {
		name     string
		required []string
		declared map[string][]string
		want     []string
	}{
		{"all covered", []string{"SETUP", "ISO"}, map[string][]string{"a": {"SETUP"}, "b": {"ISO"}}, nil},
		{"one suite runs two", []string{"SA", "RBAC"}, map[string][]string{"satoken": {"SA", "RBAC"}}, nil},
		{"a family missing", []string{"SETUP", "NEWFAM", "ISO"}, map[string][]string{"a": {"SETUP"}, "b": {"ISO"}}, []string{"NEWFAM"}},
		{"no suites", []string{"SETUP", "ISO"}, nil, []string{"SETUP", "ISO"}},
		{"a name that only looks alike", []string{"DEX-LDAP"}, map[string][]string{"a": {"DEX-LDPA", "dex-ldap"}}, []string{"DEX-LDAP"}},
	} {
		if got := uncovered(c.required, c.declared); !slices.Equal(got, c.want) {
			t.Errorf("%s: uncovered = %v, want %v", c.name, got, c.want)
		}
	}
	got := unknownFamilies([]string{"SETUP"}, map[string][]string{"b": {"SETUP", "SETPU"}, "a": {"X"}})
	if want := [][2]string{{"a", "X"}, {"b", "SETPU"}}; !slices.Equal(got, want) {
		t.Errorf("unknownFamilies = %v, want %v", got, want)
	}
}

func TestDescribedFamilies(t *testing.T) {
	const head = "package x_test\n\nimport (\n"
	for _, c := range []struct {
		name, src string
		want      []string
		wantErr   string
	}{
		{"plain", head + `	"github.com/kfp-authcheck/kfp-authcheck/suites/framework"
)
var _ = framework.DescribeChecks("SETUP", "DEX-LOCAL")
`, []string{"SETUP", "DEX-LOCAL"}, ""},
		{"renamed import", head + `	fw "github.com/kfp-authcheck/kfp-authcheck/suites/framework"
)
var _ = fw.DescribeChecks("ISO")
func f() { _ = fw.DescribeChecks("M2M") }
`, []string{"ISO", "M2M"}, ""},
		{"dot import", head + `	. "github.com/kfp-authcheck/kfp-authcheck/suites/framework"
)
var _ = DescribeChecks("OOB")
`, []string{"OOB"}, ""},
		{"another package's DescribeChecks", head + `	"example.com/framework"
)
var _ = framework.DescribeChecks("SETUP")
`, nil, ""},
		{"no call", head + `	"github.com/kfp-authcheck/kfp-authcheck/suites/framework"
)
var _ = framework.Tier()
`, nil, ""},
		{"a family in a variable", head + `	"github.com/kfp-authcheck/kfp-authcheck/suites/framework"
)
const fam = "SA"
var _ = framework.DescribeChecks(fam)
`, nil, "not a string literal"},
		{"a spread list", head + `	"github.com/kfp-authcheck/kfp-authcheck/suites/framework"
)
var fams = []string{"SA"}
var _ = framework.DescribeChecks(fams...)
`, nil, "spread"},
	} {
		got, err := describedFamilies(token.NewFileSet(), c.name+".go", c.src)
		switch {
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.wantErr)
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !slices.Equal(got, c.want):
			t.Errorf("%s: families %v, want %v", c.name, got, c.want)
		}
	}
}
