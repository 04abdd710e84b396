package report

import (
	"strings"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// Matrix is a merge of runs: a row per check, a column per run.
type Matrix struct {
	// SchemaVersion is result.SchemaVersion when the matrix was written (report/schema/matrix.schema.json).
	SchemaVersion int      `json:"schema_version"`
	Columns       []Column `json:"columns"`
	Rows          []Row    `json:"rows"`
}

// Column is one run, summarised.
type Column struct {
	// Label names the column: "<profile>/<tier>", or the target when the run has no profile; unique in the matrix.
	Label   string `json:"label"`
	Profile string `json:"profile"`
	// ProfileDescription is the server profile's own description.
	ProfileDescription string `json:"profile_description,omitempty"`
	Tier               string `json:"tier"`
	Target             string `json:"target"`
	// ToolVersion, Started and Finished come from the run, for the reports' headers.
	ToolVersion string    `json:"tool_version"`
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished"`
	// Versions are the program versions the run saw (result.Run.Versions).
	Versions []result.Version `json:"versions,omitempty"`
	// FailOn is the run's --fail-on ("warn": warnings count as unexpected).
	FailOn string `json:"fail_on,omitempty"`
	// Verdict is Run.Verdict: an empty or aborted run is error, never pass.
	Verdict result.Status `json:"verdict"`
	// Counts tallies the run's results by status.
	Counts map[result.Status]int `json:"counts"`
	// Aborted is why the run stopped early, empty when it finished.
	Aborted string `json:"aborted,omitempty"`
	// Expected counts failures and errors covered by an expected deviation; Unexpected counts the rest.
	Expected   int `json:"expected"`
	Unexpected int `json:"unexpected"`
	// Missing counts the matrix's checks that this run has no result for.
	Missing int `json:"missing"`
}

// Summary is the column's tally as the text report prints it: counts per status, unexpected, expected, missing.
func (c Column) Summary() string { return summary(c) }

// Row is one check across every run.
type Row struct {
	ID       string `json:"id"`
	Title    string `json:"title,omitempty"`
	Family   string `json:"family,omitempty"`
	Severity string `json:"severity,omitempty"`
	// References name the field reports behind the check (FIELD-REPORTS.md section 7), from the first run that
	// states them.
	References []string `json:"references,omitempty"`
	// Cells has one entry per column, in column order.
	Cells []Cell `json:"cells"`
}

// Cell is one check's result in one run.
type Cell struct {
	Status  result.Status `json:"status,omitempty"`
	Reason  result.Reason `json:"reason,omitempty"`
	Message string        `json:"message,omitempty"`
	// Deviation is the expected-deviation reason that covers this result, if any.
	Deviation  string `json:"deviation,omitempty"`
	Missing    bool   `json:"missing,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	// Expected, Actual and Evidence are the result's own fields, already redacted by the runner; the HTML report
	// shows them collapsed.
	ExpectedValue string            `json:"expected,omitempty"`
	Actual        string            `json:"actual,omitempty"`
	Evidence      []result.Exchange `json:"evidence,omitempty"`
	// Logs is the end of the programs' logs for a failed result (result.Result.Logs).
	Logs string `json:"logs,omitempty"`
	// FailOnWarn is the column's --fail-on warn, so the cell knows whether a warning counts against the run.
	FailOnWarn bool `json:"-"`
}

// Expected reports whether the cell is a failure or error that an expected deviation covers.
func (c Cell) Expected() bool {
	return !c.Missing && c.Deviation != "" && (c.Status == result.Fail || c.Status == result.Error)
}

// Unexpected reports whether the cell counts against the verdict: a failure or error no deviation covers, or a
// pass that a deviation expected to fail.
func (c Cell) Unexpected() bool {
	if c.FailOnWarn && c.Status == result.Warn && !c.Missing {
		return true
	}
	return !c.Missing && result.Result{Status: c.Status, Deviation: c.Deviation}.Unexpected()
}

// NewMatrix merges runs into a matrix; nil runs are ignored. Within one run the first result for an ID wins.
func NewMatrix(runs ...*result.Run) *Matrix {
	var present []*result.Run
	for _, r := range runs {
		if r != nil {
			present = append(present, r)
		}
	}
	m := &Matrix{SchemaVersion: result.SchemaVersion, Columns: make([]Column, len(present))}
	labels := columnLabels(present)
	rowOf := map[string]int{}
	for col, run := range present {
		m.Columns[col] = Column{
			Label: labels[col], Profile: run.Profile, ProfileDescription: run.ProfileDescription, Tier: run.Tier,
			Target: run.Target, ToolVersion: run.ToolVersion, Started: run.Started, Finished: run.Finished,
			Versions: run.Versions, FailOn: run.FailOn,
			Verdict: run.Verdict(), Counts: run.Counts(), Aborted: run.Aborted,
			Unexpected: run.Unexpected(), Expected: expectedFailures(run),
		}
		for _, res := range run.Results {
			i, ok := rowOf[res.ID]
			if !ok {
				i = len(m.Rows)
				rowOf[res.ID] = i
				m.Rows = append(m.Rows, Row{ID: res.ID, Cells: missingCells(len(present))})
			}
			row := &m.Rows[i]
			if !row.Cells[col].Missing {
				continue // a duplicate ID in one run: keep the first
			}
			fillMetadata(row, res)
			row.Cells[col] = Cell{
				Status: res.Status, Reason: res.Reason, Message: res.Message,
				Deviation: res.Deviation, DurationMS: res.DurationMS,
				ExpectedValue: res.Expected, Actual: res.Actual, Evidence: res.Evidence, Logs: res.Logs,
				FailOnWarn: run.FailsOnWarn(),
			}
		}
	}
	for i := range m.Rows {
		if m.Rows[i].Family == "" {
			m.Rows[i].Family = familyOfID(m.Rows[i].ID)
		}
	}
	sortRows(m.Rows)
	for col := range m.Columns {
		for _, row := range m.Rows {
			if row.Cells[col].Missing {
				m.Columns[col].Missing++
			}
		}
	}
	return m
}

// expectedFailures counts the failures and errors an expected deviation covers: the complement of Run.Unexpected.
func expectedFailures(run *result.Run) int {
	n := 0
	for _, res := range run.Results {
		if (res.Status == result.Fail || res.Status == result.Error) && res.Deviation != "" {
			n++
		}
	}
	return n
}

// Merge is NewMatrix under the name `report merge` uses.
func Merge(runs ...*result.Run) *Matrix { return NewMatrix(runs...) }

func missingCells(n int) []Cell {
	cells := make([]Cell, n)
	for i := range cells {
		cells[i].Missing = true
	}
	return cells
}

// fillMetadata takes title, family and severity from the first run that states them.
func fillMetadata(row *Row, res result.Result) {
	if row.Title == "" {
		row.Title = strings.TrimSpace(res.Title)
	}
	if row.Family == "" {
		row.Family = strings.TrimSpace(res.Family)
	}
	if row.Severity == "" {
		row.Severity = strings.TrimSpace(res.Severity)
	}
	if len(row.References) == 0 {
		row.References = res.References
	}
}
