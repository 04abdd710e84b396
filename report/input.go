package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// maxInputBytes bounds a file report merge reads: a merged matrix of many runs with evidence stays well under it.
const maxInputBytes = 256 << 20

// ReadInputFile reads what report merge takes: a run (run --format json), a list of runs (run --format json with
// several profiles on stdout) or a merged matrix (report merge --format json), and returns its runs. Anything else
// is refused with an error that says what the file is not: `{}` is not an empty run.
func ReadInputFile(path string) ([]*result.Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	runs, err := ReadInput(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return runs, nil
}

// ReadInput is ReadInputFile on a reader.
func ReadInput(r io.Reader) ([]*result.Run, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > maxInputBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxInputBytes)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(trimmed, &list); err != nil {
			return nil, fmt.Errorf("not JSON: %w", err)
		}
		if len(list) == 0 {
			return nil, errors.New("an empty list: no runs")
		}
		var runs []*result.Run
		for i, raw := range list {
			run, err := readRunObject(raw)
			if err != nil {
				return nil, fmt.Errorf("run %d: %w", i, err)
			}
			runs = append(runs, run)
		}
		return runs, nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &keys); err != nil {
		return nil, fmt.Errorf("not a kfp-authcheck run or merged matrix: %w", err)
	}
	if _, ok := keys["columns"]; ok {
		return readMatrix(trimmed, keys)
	}
	run, err := readRunObject(trimmed)
	if err != nil {
		return nil, err
	}
	return []*result.Run{run}, nil
}

// readRunObject reads one run, refusing an object that has neither results nor tool_version: `{}` or another
// program's JSON is not a run with nothing in it.
func readRunObject(raw []byte) (*result.Run, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return nil, fmt.Errorf("not a kfp-authcheck run: %w", err)
	}
	for _, k := range []string{"results", "tool_version"} {
		if _, ok := keys[k]; !ok {
			return nil, fmt.Errorf("not a kfp-authcheck run or merged matrix: no %q key", k)
		}
	}
	return result.ReadRun(bytes.NewReader(raw))
}

// readMatrix turns a merged matrix back into its runs, so a merged file can be merged again.
func readMatrix(raw []byte, keys map[string]json.RawMessage) ([]*result.Run, error) {
	if _, ok := keys["rows"]; !ok {
		return nil, errors.New(`not a merged matrix: no "rows" key`)
	}
	var m Matrix
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("merged matrix: %w", err)
	}
	if m.SchemaVersion > result.SchemaVersion || m.SchemaVersion < 1 {
		return nil, fmt.Errorf("merged matrix: schema_version %d: this kfp-authcheck reads %d", m.SchemaVersion, result.SchemaVersion)
	}
	if len(m.Columns) == 0 {
		return nil, errors.New("merged matrix: no columns")
	}
	runs := make([]*result.Run, len(m.Columns))
	for i, c := range m.Columns {
		runs[i] = &result.Run{
			SchemaVersion: m.SchemaVersion, Label: c.Label, ToolVersion: c.ToolVersion, Target: c.Target,
			Profile: c.Profile, ProfileDescription: c.ProfileDescription, Tier: c.Tier, Started: c.Started,
			Finished: c.Finished, Aborted: c.Aborted, Versions: c.Versions, FailOn: c.FailOn, Results: []result.Result{},
		}
	}
	for r, row := range m.Rows {
		if len(row.Cells) != len(m.Columns) {
			return nil, fmt.Errorf("merged matrix: row %d (%s) has %d cells for %d columns", r, row.ID, len(row.Cells), len(m.Columns))
		}
		for i, c := range row.Cells {
			if c.Missing {
				continue
			}
			if !c.Status.Valid() {
				return nil, fmt.Errorf("merged matrix: row %s column %s: status %q", row.ID, m.Columns[i].Label, c.Status)
			}
			runs[i].Results = append(runs[i].Results, result.Result{
				ID: row.ID, Title: row.Title, Family: row.Family, Severity: row.Severity, References: row.References,
				Status: c.Status, Reason: c.Reason, Message: c.Message, Expected: c.ExpectedValue, Actual: c.Actual,
				Evidence: c.Evidence, DurationMS: c.DurationMS, Deviation: c.Deviation, Logs: c.Logs,
			})
		}
	}
	return runs, nil
}

// Regression is a check that newly counts against a column compared with a baseline.
type Regression struct {
	Column string
	ID     string
	// Was and Now are the cell labels in the baseline and now ("pass", "FAIL AUDIENCE").
	Was, Now string
}

// Regressions compares cur with base column by column (by label; a single column on each side pairs whatever its
// label) and returns the checks that count against cur (unexpected failure, error or XPASS, or a warning with
// fail_on warn) and did not in the baseline, where the baseline had a result for them. A column without a
// baseline is named in unmatched.
func Regressions(base, cur *Matrix) (regs []Regression, unmatched []string) {
	baseCol := map[string]int{}
	for i, c := range base.Columns {
		baseCol[c.Label] = i
	}
	baseRow := map[string]Row{}
	for _, r := range base.Rows {
		baseRow[r.ID] = r
	}
	for ci, col := range cur.Columns {
		bi, ok := baseCol[col.Label]
		if !ok && len(base.Columns) == 1 && len(cur.Columns) == 1 {
			bi, ok = 0, true
		}
		if !ok {
			unmatched = append(unmatched, col.Label)
			continue
		}
		for _, row := range cur.Rows {
			now := row.Cells[ci]
			if !now.Unexpected() {
				continue
			}
			br, ok := baseRow[row.ID]
			if !ok || br.Cells[bi].Missing || br.Cells[bi].Unexpected() {
				continue
			}
			regs = append(regs, Regression{Column: col.Label, ID: row.ID, Was: CellLabel(br.Cells[bi]), Now: CellLabel(now)})
		}
	}
	return regs, unmatched
}
