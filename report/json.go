package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// WriteJSON writes run as indented JSON in the struct's field order, with "results" always a list.
func WriteJSON(w io.Writer, run *result.Run) error {
	if run == nil {
		return errors.New("write run JSON: no run")
	}
	out := *run // a shallow copy, so the caller's run is never changed
	out.SchemaVersion = result.SchemaVersion
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

// ReadRun is result.ReadRun, kept here beside ReadRunFile.
func ReadRun(r io.Reader) (*result.Run, error) { return result.ReadRun(r) }

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
