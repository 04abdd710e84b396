package report

import (
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

func TestMarkdownTwoRunMatrix(t *testing.T) {
	dex, standalone := twoRuns()
	var b strings.Builder
	if err := Markdown(&b, NewMatrix(dex, standalone)); err != nil {
		t.Fatal(err)
	}
	want := "## kfp-authcheck matrix\n" + `
Judged 2025-03-01 12:00 UTC by kfp-authcheck v0.1.0.

| ID | Check | dex/embedded | standalone/embedded |
| --- | --- | --- | --- |
| SETUP-001 | the pipeline URL is reachable and its unauthenticated answer is classified | pass | **FAIL UNSECURED** |
| DEX-LOCAL-001 | static password login \| through the gateway | pass | n/a |
| OAUTH2P-007 | session cookie flags | warn COOKIE_FLAGS | n/a |
| SA-001 | ServiceAccount token with the pipelines audience | xfail AUDIENCE | - |
| CUSTOM-001 | a check of a family outside the catalogue | pass | - |

### Summary

| Run | Target | Verdict | pass | warn | fail | error | skip | n/a | unexpected | expected | missing | aborted |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
| dex/embedded | http://127.0.0.1:4180 | warn | 3 | 1 | 1 | 0 | 0 | 0 | 0 | 1 | 0 |  |
| standalone/embedded | http://127.0.0.1:8888 | **fail** | 0 | 0 | 1 | 0 | 0 | 2 | 1 | 0 | 2 |  |

### Runs

| Run | Profile | Tier | Versions | Started | Tool |
| --- | --- | --- | --- | --- | --- |
| dex/embedded | dex: Dex and oauth2-proxy in front of KFP | embedded | dex v2.41.1, oauth2-proxy v7.6.0 (from the profile) | 2025-03-01T12:00:00Z | v0.1.0 |
| standalone/embedded | standalone | embedded | not recorded | 2025-03-01T12:00:00Z | v0.1.0 |

### Details

- SETUP-001 (standalone/embedded): **FAIL UNSECURED**: pipeline answered 200 without credentials
- OAUTH2P-007 (dex/embedded): warn COOKIE_FLAGS: Secure not set on http
- SA-001 (dex/embedded): xfail AUDIENCE: token with audience kubernetes accepted (expected deviation: KFP 2.0 ignores the audience)

### References

- SA-001: [pipelines#8460](https://github.com/kubeflow/pipelines/issues/8460), [manifests PR#2544](https://github.com/kubeflow/manifests/pull/2544), KFPClientManager

### Legend

- ` + "`pass`" + `: the check passed
- ` + "`warn REASON`" + `: passed with a weakness worth fixing
- ` + "`FAIL REASON`" + `: failed, and no expected deviation covers it
- ` + "`ERROR REASON`" + `: the check could not reach a verdict
- ` + "`xfail REASON`" + `: failed as the expected-deviation file says (xerror: an expected error); not counted against the verdict
- ` + "`XPASS`" + `: an expected deviation is listed but the check passed: the entry is stale
- ` + "`skip`" + `: not run
- ` + "`n/a`" + `: the target does not offer what the check needs
- ` + "`-`" + `: the check is not in this run
`
	if got := b.String(); got != want {
		t.Fatalf("markdown report differs.\n--- got\n%s\n--- want\n%s", got, want)
	}
}

func TestMarkdownEscapesEverythingThatCouldBreakTheTable(t *testing.T) {
	run := &result.Run{Target: "a|b", Results: []result.Result{
		{ID: "SETUP-001", Title: "x | y <script> `code` *bold* [link] \\| z\nnext", Status: result.Fail,
			Reason: result.ServerError, Message: "body was <html>|</html>"},
	}}
	var b strings.Builder
	if err := Markdown(&b, NewMatrix(run)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| ID | Check | a\\|b |\n",
		"| SETUP-001 | x \\| y \\<script\\> \\`code\\` \\*bold\\* \\[link\\] \\\\\\| z next | **FAIL SERVER_ERROR** |\n",
		"- SETUP-001 (a\\|b): **FAIL SERVER_ERROR**: body was \\<html\\>\\|\\</html\\>\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	for i, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| SETUP-001") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != 4 {
			t.Errorf("line %d has the wrong number of cell separators: %q", i, line)
		}
	}
}

func TestMarkdownEmptyRunVerdictError(t *testing.T) {
	var b strings.Builder
	if err := Markdown(&b, NewMatrix(&result.Run{Profile: "dex", Tier: "embedded"})); err != nil {
		t.Fatal(err)
	}
	if want := "| dex/embedded |  | **error** | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |  |\n"; !strings.Contains(b.String(), want) {
		t.Fatalf("markdown lacks %q:\n%s", want, b.String())
	}
}
