package report

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

func TestTextTwoRunMatrix(t *testing.T) {
	dex, standalone := twoRuns()
	var b strings.Builder
	if err := Text(&b, NewMatrix(dex, standalone)); err != nil {
		t.Fatal(err)
	}
	want := `ID             TITLE                                             dex/embedded       standalone/embedded
SETUP-001      the pipeline URL is reachable and its unauthe...  pass               FAIL UNSECURED
DEX-LOCAL-001  static password login | through the gateway       pass               n/a
OAUTH2P-007    session cookie flags                              warn COOKIE_FLAGS  n/a
SA-001         ServiceAccount token with the pipelines audience  xfail AUDIENCE     -
CUSTOM-001     a check of a family outside the catalogue         pass               -

Details:
  SETUP-001 [standalone/embedded] FAIL UNSECURED: pipeline answered 200 without credentials
  OAUTH2P-007 [dex/embedded] warn COOKIE_FLAGS: Secure not set on http
  SA-001 [dex/embedded] xfail AUDIENCE: token with audience kubernetes accepted (expected deviation: KFP 2.0 ignores the audience)

Summary:
  dex/embedded: verdict warn; 3 pass, 1 warn, 1 fail, 0 error, 0 skip, 0 n/a; 0 unexpected; 1 expected; target http://127.0.0.1:4180
    profile dex: Dex and oauth2-proxy in front of KFP
    versions dex v2.41.1, oauth2-proxy v7.6.0 (from the profile)
  standalone/embedded: verdict fail; 0 pass, 0 warn, 1 fail, 0 error, 0 skip, 2 n/a; 1 unexpected; 2 missing; target http://127.0.0.1:8888
    profile standalone
    versions not recorded
Judged 2025-03-01 12:00 UTC by kfp-authcheck v0.1.0.
`
	if got := b.String(); got != want {
		t.Fatalf("text report differs.\n--- got\n%s\n--- want\n%s", got, want)
	}
}

func TestTextEmptyAndAbortedRunsShowVerdictError(t *testing.T) {
	empty := &result.Run{Profile: "dex", Tier: "local"}
	aborted := &result.Run{Profile: "dex", Tier: "kind", Aborted: "interrupted\nby SIGINT",
		Results: []result.Result{{ID: "SETUP-001", Status: result.Pass}}}
	var b strings.Builder
	if err := Text(&b, NewMatrix(empty, aborted)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"  dex/local: verdict error; 0 pass,",
		"  dex/kind: verdict error; 1 pass,",
		"; aborted: interrupted by SIGINT\n", // the newline in the reason cannot break the line
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "verdict pass") {
		t.Errorf("an empty or aborted run rendered as pass:\n%s", out)
	}
}

func TestTextKeepsTableRowsOnOneLine(t *testing.T) {
	run := &result.Run{Profile: "p", Tier: "t", Results: []result.Result{
		{ID: "SETUP-001", Title: "two\nlines\tand a tab", Status: result.Fail, Reason: result.ServerError, Message: "a\nb"},
	}}
	var b strings.Builder
	if err := Text(&b, NewMatrix(run)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if lines[1] != "SETUP-001  two lines and a tab  FAIL SERVER_ERROR" {
		t.Fatalf("row = %q", lines[1])
	}
	if !strings.Contains(b.String(), "  SETUP-001 [p/t] FAIL SERVER_ERROR: a b\n") {
		t.Fatalf("details line not folded:\n%s", b.String())
	}
}

// TestTextFitsTheTerminal: on a wide terminal titles are whole, on a narrow one the table fits, --wide never cuts,
// and colour changes nothing but the escape codes.
func TestTextFitsTheTerminal(t *testing.T) {
	dex, standalone := twoRuns()
	m := NewMatrix(dex, standalone)
	long := "the pipeline URL is reachable and its unauthenticated answer is classified"
	render := func(o TextOptions) string {
		var b strings.Builder
		if err := TextWith(&b, m, o); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	table := func(s string) []string { return strings.Split(strings.SplitN(s, "\n\n", 2)[0], "\n") }
	if out := render(TextOptions{Width: 200}); !strings.Contains(out, long) {
		t.Errorf("200 columns: the title is cut:\n%s", out)
	}
	for _, line := range table(render(TextOptions{Width: 100})) {
		if n := utf8.RuneCountInString(line); n > 100 {
			t.Errorf("100 columns: a line of %d: %q", n, line)
		}
	}
	if out := render(TextOptions{Width: 40, Wide: true}); !strings.Contains(out, long) {
		t.Errorf("--wide cut a title")
	}
	plain, colored := render(TextOptions{Width: 120}), render(TextOptions{Width: 120, Color: true})
	if !strings.Contains(colored, "\x1b[1;31mFAIL UNSECURED\x1b[0m") || !strings.Contains(colored, "\x1b[32mpass\x1b[0m") {
		t.Errorf("no colour:\n%q", colored)
	}
	if stripped := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(colored, ""); stripped != plain {
		t.Errorf("colour changed the layout:\n%s\n---\n%s", stripped, plain)
	}
	if strings.Contains(plain, "\x1b[") {
		t.Error("colour without asking")
	}
}
