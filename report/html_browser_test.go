package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// chromiumPath finds Debian's chromium; where it is absent the browser tests skip, unless
// KFP_AUTHCHECK_REQUIRE_CHROMIUM is set (CI sets it after installing chromium), when they fail.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KFP_AUTHCHECK_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("KFP_AUTHCHECK_REQUIRE_CHROMIUM") != "" {
		t.Fatal("chromium is not installed and KFP_AUTHCHECK_REQUIRE_CHROMIUM is set (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium); set KFP_AUTHCHECK_REQUIRE_CHROMIUM to make this a failure")
	return ""
}

// consoleLine is how headless chromium logs a page's console message with --enable-logging=stderr --v=0:
// `[pid:tid:date:INFO:CONSOLE:1] "message", source: file:///... (1)`. CSP violations and uncaught errors appear
// the same way.
var consoleLine = regexp.MustCompile(`:CONSOLE[:(\]]`)

// headless runs chromium once on a local file, isolated (a fresh profile, no background networking) and
// bounded in time, and returns its stdout and the page's console lines from its log.
func headless(t *testing.T, bin, page string, extra ...string) (stdout string, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0", "--window-size=1400,1000"}, extra...)
	args = append(args, "file://"+page)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", filepath.Base(page), err, lastLines(errb.String(), 20))
	}
	for _, line := range strings.Split(errb.String(), "\n") {
		if consoleLine.MatchString(line) {
			console = append(console, line)
		}
	}
	return out.String(), console
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestHTMLReportRendersInChromium renders a matrix with a hostile message in headless Chromium: the page loads
// with no console message at all (no CSP violation, no script error), the DOM holds the matrix with every
// check and run and no injected element, and the screenshot is a real image of the page. A control page with a
// script error proves the console check can fail.
func TestHTMLReportRendersInChromium(t *testing.T) {
	bin := chromiumPath(t)
	dir := t.TempDir()

	dex, standalone := twoRuns()
	standalone.Results = append(standalone.Results, result.Result{
		ID: "SA-001", Family: "SA", Status: result.Error, Reason: result.Internal,
		Message: `</td><script>console.error("injected")</script><img src="http://example.invalid/x.png">`,
		Evidence: []result.Exchange{{Method: "GET", URL: `http://gw/"><script>console.error(1)</script>`, Status: 500,
			Headers: map[string]string{"Set-Cookie": "oauth2_proxy=[REDACTED]"}, Note: "<b>not bold</b>"}},
	})
	var buf bytes.Buffer
	if err := HTML(&buf, NewMatrix(dex, standalone)); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "matrix.html")
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	// The control: the same detection must see a broken page's console messages.
	control := filepath.Join(dir, "control.html")
	os.WriteFile(control, []byte(`<!DOCTYPE html><html><body><script>console.error("control"); undefinedFn();</script></body></html>`), 0o644)
	if _, console := headless(t, bin, control, "--dump-dom"); len(console) == 0 {
		t.Fatal("the control page's console errors were not seen: the console check would not catch anything")
	}

	dom, console := headless(t, bin, page, "--dump-dom")
	if len(console) > 0 {
		t.Errorf("console messages while loading the report:\n%s", strings.Join(console, "\n"))
	}
	for _, want := range []string{`<table class="matrix">`, "SETUP-001", "DEX-LOCAL-001", "OAUTH2P-007", "SA-001",
		"CUSTOM-001", "dex/embedded", "standalone/embedded", "xfail AUDIENCE", "FAIL UNSECURED", "<details>"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered DOM lacks %q", want)
		}
	}
	if n := strings.Count(dom, "<script"); n > 0 {
		t.Errorf("the rendered DOM holds %d script element(s): a message was not escaped", n)
	}
	if strings.Contains(dom, "<img") || strings.Contains(dom, "<b>") {
		t.Error("markup from a message became an element")
	}

	shot := filepath.Join(dir, "matrix.png")
	if keep := os.Getenv("KFP_AUTHCHECK_SCREENSHOT"); keep != "" {
		shot = keep // `make report-browser` keeps it for a person to look at
	}
	if _, console := headless(t, bin, page, "--screenshot="+shot, "--hide-scrollbars"); len(console) > 0 {
		t.Errorf("console messages while taking the screenshot:\n%s", strings.Join(console, "\n"))
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 800 {
		t.Errorf("screenshot is %dx%d, want the 1400x1000 window", b.Dx(), b.Dy())
	}
	// A blank page is one colour; the matrix has the status colours. Count distinct colours on a coarse grid.
	colours := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	if len(colours) < 8 {
		t.Errorf("screenshot has %d colours: the page looks blank", len(colours))
	}
}
