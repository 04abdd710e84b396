package report

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

func TestWriteFilesOneRunEveryFormat(t *testing.T) {
	dex, _ := twoRuns()
	dir := filepath.Join(t.TempDir(), "out") // created on demand
	paths, err := WriteFiles(dir, "authcheck", []string{"json", "text", "md", "junit", "html"}, dex)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"authcheck.json", "authcheck.txt", "authcheck.md", "authcheck.junit.xml", "authcheck.html"}
	for i := range want {
		want[i] = filepath.Join(dir, want[i])
	}
	if !reflect.DeepEqual(paths, want) {
		t.Fatalf("paths = %q, want %q", paths, want)
	}
	renderers := []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return WriteJSON(b, dex) },
		func(b *bytes.Buffer) error { return Text(b, NewMatrix(dex)) },
		func(b *bytes.Buffer) error { return Markdown(b, NewMatrix(dex)) },
		func(b *bytes.Buffer) error { return JUnit(b, dex) },
		func(b *bytes.Buffer) error { return HTML(b, NewMatrix(dex)) },
	}
	for i, path := range paths {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := renderers[i](&b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, b.Bytes()) {
			t.Errorf("%s differs from the rendering", path)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o644 {
			t.Errorf("%s mode = %v, want 0644", path, info.Mode().Perm())
		}
	}
	back, err := ReadRunFile(paths[0])
	if err != nil || !reflect.DeepEqual(back, dex) {
		t.Fatalf("json file does not read back: %v", err)
	}
	assertOnlyFiles(t, dir, "authcheck.html", "authcheck.json", "authcheck.junit.xml", "authcheck.md", "authcheck.txt")
}

func TestWriteFilesOneJSONPerRunNamedByLabel(t *testing.T) {
	dex, standalone := twoRuns()
	again := *dex
	dir := t.TempDir()
	paths, err := WriteFiles(dir, "m", []string{" JSON ", "json"}, dex, standalone, &again)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	want := []string{"m-dex-embedded.json", "m-standalone-embedded.json", "m-dex-embedded-2.json"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("files = %q, want %q", names, want)
	}
}

func TestWriteFilesReplacesByRename(t *testing.T) {
	dex, _ := twoRuns()
	dir := t.TempDir()
	target := filepath.Join(dir, "r.txt")
	if err := os.WriteFile(target, []byte("old report\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A hard link to the old file keeps its content only if the new report arrives by rename, not by rewriting
	// the old file in place, where a reader could see it half-written.
	oldLink := filepath.Join(t.TempDir(), "old")
	if err := os.Link(target, oldLink); err != nil {
		t.Skipf("hard links unsupported here: %v", err)
	}
	if _, err := WriteFiles(dir, "r", []string{"text"}, dex); err != nil {
		t.Fatal(err)
	}
	if old, _ := os.ReadFile(oldLink); string(old) != "old report\n" {
		t.Fatalf("old file rewritten in place: %q", old)
	}
	if got, _ := os.ReadFile(target); !strings.HasPrefix(string(got), "ID ") {
		t.Fatalf("new report not in place: %q", got)
	}
	if info, _ := os.Stat(target); info.Mode().Perm() != 0o644 {
		t.Fatalf("mode = %v, want 0644", info.Mode().Perm())
	}
	assertOnlyFiles(t, dir, "r.txt")
}

func TestWriteFilesLeavesNoTemporaryFileWhenRenameFails(t *testing.T) {
	dex, _ := twoRuns()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "r.md"), 0o755); err != nil { // a directory where the file should go
		t.Fatal(err)
	}
	if _, err := WriteFiles(dir, "r", []string{"md"}, dex); err == nil {
		t.Fatal("rename over a directory reported success")
	}
	assertOnlyFiles(t, dir, "r.md")
}

func TestWriteFilesRefusesBadInput(t *testing.T) {
	dex, _ := twoRuns()
	tests := []struct {
		name    string
		base    string
		formats []string
		runs    []*result.Run
		wantErr string
	}{
		{"unknown format", "r", []string{"json", "yaml"}, []*result.Run{dex}, `unknown format "yaml"`},
		{"pdf", "r", []string{"html", "pdf"}, []*result.Run{dex}, `unknown format "pdf"`},
		{"no format", "r", nil, []*result.Run{dex}, "no format"},
		{"no runs", "r", []string{"json"}, nil, "no runs"},
		{"nil run only", "r", []string{"json"}, []*result.Run{nil}, "no runs"},
		{"base with a path", "../r", []string{"json"}, []*result.Run{dex}, "plain file name"},
		{"empty base", "", []string{"json"}, []*result.Run{dex}, "plain file name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			paths, err := WriteFiles(dir, tt.base, tt.formats, tt.runs...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if len(paths) != 0 {
				t.Fatalf("paths = %q after an error", paths)
			}
			assertOnlyFiles(t, dir) // nothing written, not even the formats listed before the bad one
		})
	}
}

func TestFileSafe(t *testing.T) {
	for in, want := range map[string]string{
		"dex/embedded":                  "dex-embedded",
		"dex/embedded#2":                "dex-embedded-2",
		"https://kfp.example.com:8443/": "https-kfp.example.com-8443",
		"../..":                         "run",
		"":                              "run",
	} {
		if got := fileSafe(in); got != want {
			t.Errorf("fileSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

func assertOnlyFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s holds %q, want %q", dir, got, want)
	}
}
