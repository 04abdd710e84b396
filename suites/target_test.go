package suites_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

// TestSuitesRunAgainstATargetFile serves an embedded standalone stack, describes it in a target file and runs the
// dexlogin suite against it through KFP_AUTHCHECK_TARGET, as a distribution's CI points the suites at its
// deployment: the SETUP specs pass (TLS's is n/a on http), the DEX-LOCAL specs (standalone has no Dex) are skipped with their n/a reason,
// and the specs carry the live tier's label.
func TestSuitesRunAgainstATargetFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a suite in a child go test")
	}
	p, err := profile.Get("standalone")
	if err != nil {
		t.Fatal(err)
	}
	stack, err := embedded.Start(context.Background(), p, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	desc, err := stack.Description().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "target.json")
	if err := os.WriteFile(file, desc, 0o600); err != nil {
		t.Fatal(err)
	}
	reportPath := filepath.Join(dir, "report.json")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "./dexlogin", "-args", "-ginkgo.json-report="+reportPath)
	cmd.Env = append(os.Environ(), "KFP_AUTHCHECK_TARGET="+file)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the suite against the target file failed: %v\n%s", err, out)
	}
	data, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		t.Fatal(err)
	}
	passed, skipped := 0, 0
	for _, s := range reports[0].SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			continue
		}
		if !strings.Contains(strings.Join(s.Labels(), ","), "tier:live") {
			t.Errorf("%s: labels %v lack tier:live", s.LeafNodeText, s.Labels())
		}
		switch {
		case strings.HasPrefix(s.LeafNodeText, "DEX-LOCAL"):
			if s.State != types.SpecStateSkipped || !strings.HasPrefix(s.Failure.Message, "n/a MISSING_CAPABILITY") {
				t.Errorf("%s: %s %q, want skipped with its n/a reason", s.LeafNodeText, s.State, s.Failure.Message)
			}
			skipped++
		case strings.HasPrefix(s.LeafNodeText, "SETUP") && s.State == types.SpecStatePassed:
			passed++
		case strings.HasPrefix(s.LeafNodeText, "SETUP"): // SETUP-003 (TLS) is n/a on plain http
			if s.State != types.SpecStateSkipped || !strings.HasPrefix(s.Failure.Message, "n/a ") {
				t.Errorf("%s: %s %q", s.LeafNodeText, s.State, s.Failure.Message)
			}
		}
	}
	if passed == 0 || skipped == 0 {
		t.Errorf("%d SETUP specs passed, %d DEX-LOCAL specs skipped: the suite did not run against the target", passed, skipped)
	}
}
