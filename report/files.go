package report

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// Formats lists the formats WriteFiles knows, in the order they are documented.
var Formats = []string{"json", "text", "md", "junit", "html"}

// WriteFiles writes the runs in each format to dir: base.json for a single run or base-<label>.json per run,
// base.txt, base.md, base.junit.xml and base.html. Every file is written to a temporary file in dir and renamed into place,
// mode 0644, so a reader never sees half a report. It returns the paths in the order written. An unknown format is
// an error naming it, and nothing is written then.
func WriteFiles(dir, base string, formats []string, runs ...*result.Run) ([]string, error) {
	if base == "" || base != filepath.Base(base) || base == "." || base == ".." {
		return nil, fmt.Errorf("report files: base name %q must be a plain file name", base)
	}
	var present []*result.Run
	for _, r := range runs {
		if r != nil {
			present = append(present, r)
		}
	}
	if len(present) == 0 {
		return nil, errors.New("report files: no runs to write")
	}
	wanted, err := normaliseFormats(formats)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report files: %w", err)
	}
	var files []renderedFile // every format is rendered before any file is written
	for _, format := range wanted {
		more, err := render(format, base, present)
		if err != nil {
			return nil, err
		}
		files = append(files, more...)
	}
	var written []string
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := writeAtomic(path, f.data); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}

// normaliseFormats lower-cases, trims and de-duplicates the formats, keeping their order, and refuses any it does
// not know before a file is touched.
func normaliseFormats(formats []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, raw := range formats {
		f := strings.ToLower(strings.TrimSpace(raw))
		switch f {
		case "markdown":
			f = "md"
		case "txt":
			f = "text"
		case "":
			continue
		}
		known := false
		for _, k := range Formats {
			known = known || k == f
		}
		if !known {
			return nil, fmt.Errorf("report files: unknown format %q (want %s)", raw, strings.Join(Formats, ", "))
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("report files: no format given")
	}
	return out, nil
}

type renderedFile struct {
	name string
	data []byte
}

func render(format, base string, runs []*result.Run) ([]renderedFile, error) {
	var buf bytes.Buffer
	switch format {
	case "json":
		return renderJSON(base, runs)
	case "text":
		if err := Text(&buf, NewMatrix(runs...)); err != nil {
			return nil, err
		}
		return []renderedFile{{base + ".txt", buf.Bytes()}}, nil
	case "md":
		if err := Markdown(&buf, NewMatrix(runs...)); err != nil {
			return nil, err
		}
		return []renderedFile{{base + ".md", buf.Bytes()}}, nil
	case "junit":
		if err := JUnit(&buf, runs...); err != nil {
			return nil, err
		}
		return []renderedFile{{base + ".junit.xml", buf.Bytes()}}, nil
	case "html":
		if err := HTML(&buf, NewMatrix(runs...)); err != nil {
			return nil, err
		}
		return []renderedFile{{base + ".html", buf.Bytes()}}, nil
	}
	return nil, fmt.Errorf("report files: unknown format %q", format)
}

// renderJSON gives one file for one run, else a file per run named after its column label, made safe for a file
// name and unique.
func renderJSON(base string, runs []*result.Run) ([]renderedFile, error) {
	if len(runs) == 1 {
		var buf bytes.Buffer
		if err := WriteJSON(&buf, runs[0]); err != nil {
			return nil, err
		}
		return []renderedFile{{base + ".json", buf.Bytes()}}, nil
	}
	var files []renderedFile
	taken := map[string]bool{}
	for i, label := range columnLabels(runs) {
		stem := fileSafe(label)
		name := base + "-" + stem + ".json"
		for n := 2; taken[name]; n++ {
			name = fmt.Sprintf("%s-%s-%d.json", base, stem, n)
		}
		taken[name] = true
		var buf bytes.Buffer
		if err := WriteJSON(&buf, runs[i]); err != nil {
			return nil, err
		}
		files = append(files, renderedFile{name, buf.Bytes()})
	}
	return files, nil
}

// fileSafe maps a label to letters, digits, dot, dash and underscore ("dex/embedded#2" -> "dex-embedded-2").
func fileSafe(label string) string {
	var b strings.Builder
	dash := false
	for _, r := range label {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if ok {
			b.WriteRune(r)
			dash = r == '-'
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.Trim(b.String(), "-.")
	if s == "" {
		return "run"
	}
	return s
}

// writeAtomic writes data to a temporary file beside path and renames it over path, so a reader sees the old file
// or the new one, never a part; the temporary file is removed on any failure.
func writeAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("report files: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("report files: write %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("report files: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("report files: sync %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("report files: close %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("report files: %w", err)
	}
	return nil
}
