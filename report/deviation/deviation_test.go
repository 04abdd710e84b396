package deviation

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

func write(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "expected.yaml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReasonIsMandatory(t *testing.T) {
	_, err := Load(write(t, "deviations:\n  - checks: DEX-LOCAL-004\n"))
	if err == nil || !strings.Contains(err.Error(), "reason is mandatory") {
		t.Fatalf("got %v", err)
	}
}

func TestApplyMarksExpectedFailuresAndUnexpectedPasses(t *testing.T) {
	f, err := Load(write(t, `deviations:
  - {checks: "DEX-LOCAL-00*", reason: "approval screen on by design", profiles: [kubeflow-1.8]}
  - {checks: SETUP-002, reason: "v1beta1 removed"}
`))
	if err != nil {
		t.Fatal(err)
	}
	run := &result.Run{Profile: "kubeflow-1.8", Results: []result.Result{
		{ID: "DEX-LOCAL-004", Status: result.Fail},
		{ID: "SETUP-002", Status: result.Pass},
		{ID: "SETUP-001", Status: result.Fail},
	}}
	f.Apply(run)
	if run.Results[0].Deviation == "" || run.Results[0].Unexpected() {
		t.Errorf("a covered failure must be expected: %+v", run.Results[0])
	}
	if !run.Results[1].Unexpected() || run.Results[1].Reason != result.UnexpectedPass {
		t.Errorf("a covered pass must be an unexpected pass: %+v", run.Results[1])
	}
	if !run.Results[2].Unexpected() {
		t.Errorf("an uncovered failure stays unexpected")
	}
	if run.Unexpected() != 2 {
		t.Errorf("Unexpected() = %d, want 2", run.Unexpected())
	}
	other := &result.Run{Profile: "kubeflow", Results: []result.Result{{ID: "DEX-LOCAL-004", Status: result.Fail}}}
	f.Apply(other)
	if other.Results[0].Deviation != "" {
		t.Errorf("an entry limited to kubeflow-1.8 applied to kubeflow")
	}
}
