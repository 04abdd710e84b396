// Package deviation applies an expected-deviation file: known failures of a setup, each with a mandatory reason.
// A covered failure is reported as expected; a covered check that passes is reported as an unexpected pass, so
// a fixed problem is noticed and its entry removed.
package deviation

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kfp-authcheck/kfp-authcheck/internal/limits"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// Entry is one known deviation.
type Entry struct {
	// Checks is a glob on check IDs (DEX-LOCAL-00*, OOB-*).
	Checks string `json:"checks"`
	// Profiles limits the entry to runs of these profiles; empty means every run.
	Profiles []string `json:"profiles,omitempty"`
	// Reason is mandatory: why this failure is accepted, with a link where there is one.
	Reason string `json:"reason"`
}

// File is the expected-deviation file.
type File struct {
	Deviations []Entry `json:"deviations"`
}

// Load reads and validates a deviation file (YAML or JSON; unknown keys are errors).
func Load(p string) (*File, error) {
	b, err := limits.ReadFile(p, "expected-deviation file", limits.ExpectedFile)
	if err != nil {
		var tl *limits.TooLargeError
		if errors.As(err, &tl) {
			return nil, err
		}
		return nil, fmt.Errorf("expected-deviation file: %w", err)
	}
	return Parse(p, b)
}

// Parse validates a deviation file's bytes; name is what errors call it.
func Parse(p string, b []byte) (*File, error) {
	b = bytes.TrimSpace(b)
	if err := limits.CheckYAML(b); err != nil {
		return nil, fmt.Errorf("expected-deviation file %s: %w", p, err)
	}
	var f File
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		return nil, fmt.Errorf("expected-deviation file %s: %w", p, err)
	}
	for i, e := range f.Deviations {
		if strings.TrimSpace(e.Reason) == "" {
			return nil, fmt.Errorf("expected-deviation file %s: entry %d (%s) has no reason; a reason is mandatory", p, i+1, e.Checks)
		}
		if _, err := path.Match(strings.ToUpper(e.Checks), "X"); err != nil || e.Checks == "" {
			return nil, fmt.Errorf("expected-deviation file %s: entry %d: bad checks glob %q", p, i+1, e.Checks)
		}
	}
	return &f, nil
}

// Apply marks the run's results that an entry covers.
func (f *File) Apply(run *result.Run) {
	for i := range run.Results {
		r := &run.Results[i]
		e := f.match(r.ID, run.Profile)
		if e == nil {
			continue
		}
		switch r.Status {
		case result.Fail, result.Error, result.Warn:
			r.Deviation = e.Reason
		case result.Pass:
			// An unexpected pass: the deviation is listed but the setup now conforms. It counts against the exit
			// code so the stale entry is noticed and removed.
			r.Deviation = e.Reason
			r.Reason = result.UnexpectedPass
		}
	}
}

func (f *File) match(id, profile string) *Entry {
	for i := range f.Deviations {
		e := &f.Deviations[i]
		if ok, _ := path.Match(strings.ToUpper(e.Checks), id); !ok {
			continue
		}
		if len(e.Profiles) == 0 {
			return e
		}
		for _, p := range e.Profiles {
			if p == profile {
				return e
			}
		}
	}
	return nil
}
