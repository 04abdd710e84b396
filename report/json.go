package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// maxRunBytes bounds how much of a run file is read: a run of the whole catalogue with evidence is well under it.
const maxRunBytes = 64 << 20

// WriteJSON writes run as indented JSON in the struct's field order, with "results" always a list.
func WriteJSON(w io.Writer, run *result.Run) error {
	if run == nil {
		return errors.New("write run JSON: no run")
	}
	out := *run // a shallow copy, so the caller's run is never changed
	if out.Results == nil {
		out.Results = []result.Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // messages quote HTML answers; keep them readable
	if err := enc.Encode(&out); err != nil {
		return fmt.Errorf("write run JSON: %w", err)
	}
	return nil
}

// ReadRun parses one run and refuses what the contract does not allow: a status outside pass, fail, warn, skip,
// n/a, error; a result without an id or status; a duplicate id; trailing data after the run.
func ReadRun(r io.Reader) (*result.Run, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxRunBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	if len(data) > maxRunBytes {
		return nil, fmt.Errorf("read run: larger than %d bytes", maxRunBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var run result.Run
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

// ReadRunFile reads and checks the run JSON at path.
func ReadRunFile(path string) (*result.Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read run file: %w", err)
	}
	defer f.Close()
	run, err := ReadRun(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return run, nil
}

// validateRun checks what json.Unmarshal cannot: required fields and unique IDs. Status spellings are checked by
// result.Status itself while decoding; an absent status never reaches its UnmarshalJSON, so it is checked here.
func validateRun(run *result.Run) error {
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
