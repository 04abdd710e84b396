package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/checks"
	"github.com/kfp-authcheck/kfp-authcheck/report"
)

// TestListShowsRetiredIDs: list, as text and as JSON, shows every retired ID as retired with why, after the
// catalogue; every retired ID says why, and no check of the catalogue uses one.
func TestListShowsRetiredIDs(t *testing.T) {
	if len(report.RetiredChecks) != len(report.Retirement) {
		t.Errorf("RetiredChecks %v and Retirement %d entries differ", report.RetiredChecks, len(report.Retirement))
	}
	code, out, _ := runCLI(t, "list")
	if code != exitOK {
		t.Fatalf("list: exit %d", code)
	}
	lines := strings.Split(out, "\n")
	for _, id := range report.RetiredChecks {
		why := report.Retirement[id]
		if why == "" {
			t.Errorf("%s is retired without a reason", id)
		}
		if _, err := checks.Select([]string{id}); err == nil {
			t.Errorf("retired %s is in the catalogue", id)
		}
		found := false
		for _, l := range lines {
			f := strings.Fields(l)
			found = found || len(f) > 1 && f[0] == id && f[1] == "retired" && strings.Contains(l, why)
		}
		if !found {
			t.Errorf("list does not show %s as retired with why:\n%s", id, out)
		}
	}

	code, out, _ = runCLI(t, "list", "--format", "json")
	if code != exitOK {
		t.Fatalf("list --format json: exit %d", code)
	}
	var entries []struct {
		ID             string `json:"id"`
		Family         string `json:"family"`
		Severity       string `json:"severity"`
		Title          string `json:"title"`
		Retired        bool   `json:"retired"`
		RetiredBecause string `json:"retired_because"`
	}
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatal(err)
	}
	retired := map[string]bool{}
	for _, e := range entries {
		switch {
		case e.Retired:
			retired[e.ID] = true
			if e.RetiredBecause != report.Retirement[e.ID] || e.Severity != "" || e.Title != "" || !strings.HasPrefix(e.ID, e.Family+"-") {
				t.Errorf("retired entry %+v", e)
			}
		case e.Severity == "" || e.Title == "" || e.RetiredBecause != "":
			t.Errorf("check entry %+v", e)
		}
	}
	if len(retired) != len(report.RetiredChecks) || len(entries) != len(checks.All())+len(report.RetiredChecks) {
		t.Errorf("JSON lists %d entries, %d retired; want %d checks and %v", len(entries), len(retired), len(checks.All()), report.RetiredChecks)
	}
}

// TestOnlyARetiredIDSaysSo: --only naming a retired ID is a usage error that says the check is retired and why.
func TestOnlyARetiredIDSaysSo(t *testing.T) {
	code, _, stderr := runCLI(t, "run", "--only", "sa-008")
	if code != exitUsage || !strings.Contains(stderr, "SA-008 is a retired check") || !strings.Contains(stderr, report.Retirement["SA-008"]) {
		t.Errorf("run --only sa-008: exit %d, stderr %s", code, stderr)
	}
}
