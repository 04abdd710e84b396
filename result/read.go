package result

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxRunBytes bounds how much of a run is read: a run of the whole catalogue with evidence is well under it.
const maxRunBytes = 64 << 20

// ReadRun parses one run and refuses what the contract does not allow: a status outside pass, fail, warn, skip,
// n/a, error; a result without an id or status; a duplicate id; trailing data after the run.
func ReadRun(r io.Reader) (*Run, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxRunBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	if len(data) > maxRunBytes {
		return nil, fmt.Errorf("read run: larger than %d bytes", maxRunBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var run Run
	if err := dec.Decode(&run); err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("read run: unexpected data after the run object")
	}
	if err := validateRun(&run); err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	return &run, nil
}

// validateRun checks what json.Unmarshal cannot: required fields and unique IDs. Status spellings are checked by
// Status itself while decoding; an absent status never reaches its UnmarshalJSON, so it is checked here.
func validateRun(run *Run) error {
	if run.SchemaVersion > SchemaVersion {
		return fmt.Errorf("schema_version %d is newer than this kfp-authcheck reads (%d): use a newer kfp-authcheck", run.SchemaVersion, SchemaVersion)
	}
	if run.SchemaVersion < 0 {
		return fmt.Errorf("schema_version %d: want %d", run.SchemaVersion, SchemaVersion)
	}
	switch run.FailOn {
	case "", "warn":
	default:
		return fmt.Errorf("fail_on %q: want warn or nothing", run.FailOn)
	}
	seen := make(map[string]int, len(run.Results))
	for i, res := range run.Results {
		id := strings.TrimSpace(res.ID)
		if id == "" {
			return fmt.Errorf("result %d: missing id", i)
		}
		if res.Status == "" {
			return fmt.Errorf("result %d (%s): missing status", i, id)
		}
		if first, dup := seen[id]; dup {
			return fmt.Errorf("result %d (%s): duplicate id, first at result %d", i, id, first)
		}
		seen[id] = i
	}
	return nil
}
