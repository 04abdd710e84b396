package report

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

func readArchive(t *testing.T, file string) (names []string, contents map[string][]byte) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	contents = map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not a tar: %v", err)
		}
		b, _ := io.ReadAll(io.LimitReader(tr, 10<<20))
		names = append(names, hdr.Name)
		contents[hdr.Name] = b
	}
	return names, contents
}

func TestWriteArchiveHoldsConfigVersionsRunsAndReports(t *testing.T) {
	dex, standalone := twoRuns()
	file := filepath.Join(t.TempDir(), "results.tar.gz")
	cfg := map[string]string{"gateway_url": "http://gw"}
	vers := []map[string]string{{"dex": "v2.41.1"}}
	if err := WriteArchive(file, Archive{Runs: []*result.Run{dex, nil, standalone}, Config: cfg, Versions: vers}); err != nil {
		t.Fatal(err)
	}
	names, contents := readArchive(t, file)
	r := ArchiveRoot + "/"
	want := []string{r + "config.json", r + "versions.json", r + "runs/run-dex-embedded.json", r + "runs/run-standalone-embedded.json",
		r + "reports/kfp-authcheck.html", r + "reports/kfp-authcheck.junit.xml", r + "reports/kfp-authcheck.md", r + "reports/kfp-authcheck.txt"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("members\n%q\nwant\n%q", names, want)
	}
	var back result.Run
	if err := json.Unmarshal(contents[r+"runs/run-dex-embedded.json"], &back); err != nil || back.Profile != "dex" || len(back.Results) != len(dex.Results) {
		t.Errorf("run JSON does not read back: %v", err)
	}
	var gotCfg map[string]string
	if json.Unmarshal(contents[r+"config.json"], &gotCfg); gotCfg["gateway_url"] != "http://gw" {
		t.Errorf("config.json: %s", contents[r+"config.json"])
	}
	if err := WriteArchive(file, Archive{}); err == nil {
		t.Error("an archive of no runs was written")
	}
}
