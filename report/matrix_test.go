package report

import (
	"reflect"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

func TestNewMatrixOrdersRowsByCatalogueFamilyThenID(t *testing.T) {
	dex, standalone := twoRuns()
	m := NewMatrix(dex, standalone)
	var ids []string
	for _, r := range m.Rows {
		ids = append(ids, r.ID)
	}
	want := []string{"SETUP-001", "DEX-LOCAL-001", "OAUTH2P-007", "SA-001", "CUSTOM-001"}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("row order = %v, want %v", ids, want)
	}
}

func TestNewMatrixSortsUnknownFamiliesAlphabeticallyAfterCatalogue(t *testing.T) {
	run := &result.Run{Profile: "p", Tier: "t", Results: []result.Result{
		{ID: "ZED-001", Status: result.Pass},
		{ID: "SDK-002", Status: result.Pass},
		{ID: "ALPHA-010", Family: "ALPHA", Status: result.Pass},
		{ID: "ALPHA-002", Family: "ALPHA", Status: result.Pass},
		{ID: "ISO-001", Status: result.Pass},
		{ID: "noid", Status: result.Pass},
	}}
	m := NewMatrix(run)
	var got []string
	for _, r := range m.Rows {
		got = append(got, r.Family+":"+r.ID)
	}
	want := []string{"ISO:ISO-001", "SDK:SDK-002", "ALPHA:ALPHA-002", "ALPHA:ALPHA-010", "ZED:ZED-001", ":noid"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %v, want %v", got, want)
	}
}

func TestNewMatrixCellsAndColumns(t *testing.T) {
	dex, standalone := twoRuns()
	m := NewMatrix(dex, nil, standalone) // a nil run is ignored, not a column
	if len(m.Columns) != 2 {
		t.Fatalf("columns = %d, want 2", len(m.Columns))
	}
	sa := m.Rows[3]
	if sa.ID != "SA-001" || !sa.Cells[1].Missing || sa.Cells[0].Missing {
		t.Fatalf("SA-001 cells = %+v, want present in dex and missing in standalone", sa.Cells)
	}
	if got := sa.Cells[0]; got.Status != result.Fail || got.Deviation == "" || !got.Expected() || got.Unexpected() {
		t.Fatalf("SA-001 in dex = %+v, want an expected failure", got)
	}
	dexCol, stCol := m.Columns[0], m.Columns[1]
	if dexCol.Label != "dex/embedded" || dexCol.Verdict != result.Warn || dexCol.Expected != 1 || dexCol.Unexpected != 0 || dexCol.Missing != 0 {
		t.Fatalf("dex column = %+v", dexCol)
	}
	if stCol.Label != "standalone/embedded" || stCol.Verdict != result.Fail || stCol.Unexpected != 1 || stCol.Missing != 2 || stCol.Counts[result.NA] != 2 {
		t.Fatalf("standalone column = %+v", stCol)
	}
	if m.Rows[1].Title == "" {
		t.Fatalf("DEX-LOCAL-001 title not taken from the run that has it")
	}
}

func TestColumnLabels(t *testing.T) {
	runs := []*result.Run{
		{Profile: "dex", Tier: "embedded"},
		{Profile: "dex", Tier: "embedded"},
		{Target: "prod-cluster"},
		{Profile: "dex", Tier: "embedded"},
		{Target: "dex/embedded#2"}, // a target that looks like a suffixed label still gets a unique one
		{},
		{Profile: "ldap"},
	}
	got := columnLabels(runs)
	want := []string{"dex/embedded", "dex/embedded#2", "prod-cluster", "dex/embedded#3", "dex/embedded#2#2", "run", "ldap"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("labels = %q, want %q", got, want)
	}
}

func TestCellLabel(t *testing.T) {
	tests := []struct {
		cell Cell
		want string
	}{
		{Cell{Status: result.Pass}, "pass"},
		{Cell{Status: result.Pass, Deviation: "listed"}, "XPASS"},
		{Cell{Status: result.Warn, Reason: result.CookieFlags}, "warn COOKIE_FLAGS"},
		{Cell{Status: result.Fail, Reason: result.Unsecured}, "FAIL UNSECURED"},
		{Cell{Status: result.Fail}, "FAIL"},
		{Cell{Status: result.Fail, Reason: result.Audience, Deviation: "known"}, "xfail AUDIENCE"},
		{Cell{Status: result.Error, Reason: result.Timeout}, "ERROR TIMEOUT"},
		{Cell{Status: result.Error, Reason: result.Timeout, Deviation: "known"}, "xerror TIMEOUT"},
		{Cell{Status: result.Skip}, "skip"},
		{Cell{Status: result.NA, Reason: result.MissingCapability}, "n/a"},
		{Cell{Missing: true, Status: result.Fail}, "-"},
	}
	for _, tt := range tests {
		if got := CellLabel(tt.cell); got != tt.want {
			t.Errorf("CellLabel(%+v) = %q, want %q", tt.cell, got, tt.want)
		}
	}
}

func TestMergeIsNewMatrix(t *testing.T) {
	dex, standalone := twoRuns()
	if !reflect.DeepEqual(Merge(dex, standalone), NewMatrix(dex, standalone)) {
		t.Fatal("Merge and NewMatrix disagree")
	}
}
