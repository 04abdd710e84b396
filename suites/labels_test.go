package suites_test

import (
	"bytes"
	"flag"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/suites/framework"
)

var update = flag.Bool("update", false, "rewrite each suite's labels_gen_test.go")

// TestSuiteLabelsAreGenerated: each suite's labels_gen_test.go lists, as a Label call `ginkgo labels` can read,
// the labels framework.DescribeChecks gives its specs (families, check IDs, profiles, tiers), so that a new check
// or profile cannot leave the listed labels behind. -update rewrites them.
func TestSuiteLabelsAreGenerated(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("*", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	declared, err := suiteFamilies(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(declared) == 0 {
		t.Fatal("no suite found")
	}
	for dir, fams := range declared {
		pkg := suitePackage(t, dir)
		want := framework.LabelsFile(pkg, fams...)
		path := filepath.Join(dir, "labels_gen_test.go")
		if *update {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("%s is missing or out of date: go test ./suites -run TestSuiteLabelsAreGenerated -update", path)
		}
	}
}

// suitePackage is the package name of the suite's test files that call DescribeChecks.
func suitePackage(t *testing.T, dir string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "labels_gen_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.PackageClauseOnly)
		if err != nil {
			t.Fatal(err)
		}
		return af.Name.Name
	}
	t.Fatalf("suites/%s has no test files", dir)
	return ""
}

// TestGinkgoLabelsListsTheGeneratedLabels runs the ginkgo CLI's labels command where it is installed: it must
// list the check IDs of each suite.
func TestGinkgoLabelsListsTheGeneratedLabels(t *testing.T) {
	ginkgo, err := exec.LookPath("ginkgo")
	if err != nil {
		t.Skip("the ginkgo CLI is not installed (go install github.com/onsi/ginkgo/v2/ginkgo)")
	}
	var out bytes.Buffer
	cmd := exec.Command(ginkgo, "labels", "-r")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("ginkgo labels -r: %v\n%s", err, out.String())
	}
	for _, want := range []string{"DEX-LOCAL-001", "SETUP-001", "profile:deploykf", "tier:live"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("ginkgo labels -r does not list %s:\n%s", want, out.String())
		}
	}
}

// TestEveryEnvironmentVariableIsInTheREADME: each KFP_AUTHCHECK_ variable the code, Makefile or scripts read is
// in the README's table (the tests' own canaries aside).
func TestEveryEnvironmentVariableIsInTheREADME(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`KFP_AUTHCHECK_[A-Z_]+[A-Z]`)
	testOnly := map[string]bool{"KFP_AUTHCHECK_TEST_PW": true, "KFP_AUTHCHECK_WRONG_PW": true, "KFP_AUTHCHECK_CANARY": true}
	seen := map[string]bool{}
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "bin" || d.Name() == "dist" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".sh") || d.Name() == "Makefile") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range re.FindAllString(string(data), -1) {
			seen[v] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	table := string(readme[strings.Index(string(readme), "## Environment variables"):])
	for v := range seen {
		short := "`_" + strings.TrimPrefix(v, "KFP_AUTHCHECK_") + "`"
		if testOnly[v] || strings.Contains(table, "`"+v+"`") || strings.Contains(table, short) {
			continue
		}
		t.Errorf("%s is read by the code but not in the README's environment variables table", v)
	}
	if len(seen) < 10 {
		t.Fatalf("found only %d variables: the scan is broken", len(seen))
	}
}
