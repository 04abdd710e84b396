package report

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/internal/atomicfile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// ArchiveRoot is the folder every member of a results archive sits in.
const ArchiveRoot = "kfp-authcheck-results"

// Archive is what a results archive holds besides the runs: the effective configuration (already redacted by
// the caller) and the versions seen, each marshalled as JSON.
type Archive struct {
	Runs     []*result.Run
	Config   any
	Versions any
}

// WriteArchive writes a self-describing tar.gz (the Sonobuoy model) to file, atomically: config.json,
// versions.json, the run JSON (runs/), and every report format (reports/). It holds nothing the reports do not
// already show, so it is written 0644 like them.
func WriteArchive(file string, a Archive) error {
	var present []*result.Run
	for _, r := range a.Runs {
		if r != nil {
			present = append(present, r)
		}
	}
	if len(present) == 0 {
		return errors.New("results archive: no runs")
	}
	var members []renderedFile
	for name, v := range map[string]any{"config.json": a.Config, "versions.json": a.Versions} {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("results archive: %s: %w", name, err)
		}
		members = append(members, renderedFile{name, append(b, '\n')})
	}
	runs, err := renderJSON("run", present)
	if err != nil {
		return err
	}
	for _, f := range runs {
		members = append(members, renderedFile{"runs/" + f.name, f.data})
	}
	for _, format := range Formats {
		if format == "json" {
			continue // the runs are there already
		}
		files, err := render(format, "kfp-authcheck", present)
		if err != nil {
			return err
		}
		for _, f := range files {
			members = append(members, renderedFile{"reports/" + f.name, f.data})
		}
	}
	mtime := present[0].Finished
	if mtime.IsZero() {
		mtime = time.Now()
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	sortMembers(members)
	for _, m := range members {
		hdr := &tar.Header{Name: path.Join(ArchiveRoot, m.name), Mode: 0o644, Size: int64(len(m.data)),
			ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("results archive: %w", err)
		}
		if _, err := tw.Write(m.data); err != nil {
			return fmt.Errorf("results archive: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("results archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("results archive: %w", err)
	}
	if err := atomicfile.Write(file, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("results archive: %w", err)
	}
	return nil
}

// sortMembers puts config and versions first, then runs, then reports, each by name: a stable listing.
func sortMembers(ms []renderedFile) {
	rank := func(n string) int {
		switch {
		case n == "config.json":
			return 0
		case n == "versions.json":
			return 1
		case path.Dir(n) == "runs":
			return 2
		}
		return 3
	}
	sort.SliceStable(ms, func(i, j int) bool {
		if ri, rj := rank(ms[i].name), rank(ms[j].name); ri != rj {
			return ri < rj
		}
		return ms[i].name < ms[j].name
	})
}
