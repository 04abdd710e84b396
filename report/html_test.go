package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// TestHTMLIsSelfContainedAndEscaped: one file with no script, no outside reference, the CSP that forbids any,
// families as row groups in catalogue order, and every field from the run escaped.
func TestHTMLIsSelfContainedAndEscaped(t *testing.T) {
	dex, standalone := twoRuns()
	dex.Results[1].Evidence = []result.Exchange{{Method: "GET", URL: "http://gw/x?q=<i>", Status: 302,
		Location: `"><script>x</script>`, Headers: map[string]string{"Set-Cookie": "s=[REDACTED]"}}}
	standalone.Results[0].Message = `<script>alert("x")</script> & "quotes"`
	var buf bytes.Buffer
	if err := HTML(&buf, NewMatrix(dex, standalone)); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "<script") {
		t.Error("a <script> reached the page unescaped")
	}
	if !strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quotes&#34;") {
		t.Error("the hostile message is not shown escaped")
	}
	if !strings.Contains(page, `content="default-src 'none'; style-src 'unsafe-inline'"`) {
		t.Error("no Content-Security-Policy forbidding outside assets")
	}
	// The only addresses are links a reader follows (references to GitHub issues); nothing the browser loads.
	if m := regexp.MustCompile(`(?i)\ssrc=|<(link|img|iframe|object|embed|base)\b`).FindString(page); m != "" {
		t.Errorf("the page references something (%q): it must be self-contained", m)
	}
	for _, m := range regexp.MustCompile(`(?i)<([a-z]+)[^>]*\shref="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if m[1] != "a" || !strings.HasPrefix(m[2], "https://github.com/") {
			t.Errorf("href outside a reference link: %q", m[0])
		}
	}
	for _, want := range []string{`<a href="https://github.com/kubeflow/pipelines/issues/8460">pipelines#8460</a>`,
		`<a href="https://github.com/kubeflow/manifests/pull/2544">manifests PR#2544</a>`, ", KFPClientManager",
		"dex v2.41.1, oauth2-proxy v7.6.0 (from the profile)", "dex: Dex and oauth2-proxy in front of KFP",
		"Judged 2025-03-01 12:00 UTC by kfp-authcheck v0.1.0."} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	var families []string
	for _, m := range regexp.MustCompile(`<tr class="family"><th colspan="4">([^<]+)</th>`).FindAllStringSubmatch(page, -1) {
		families = append(families, m[1])
	}
	if got := strings.Join(families, ","); got != "SETUP,DEX-LOCAL,OAUTH2P,SA,CUSTOM" {
		t.Errorf("family groups %s, want SETUP,DEX-LOCAL,OAUTH2P,SA,CUSTOM", got)
	}
	for _, want := range []string{`class="st-expected"`, `class="st-fail unexpected"`, `class="st-warn"`, `class="st-na"`,
		`class="st-missing"`, "Set-Cookie: <code>s=[REDACTED]</code>", "KFP 2.0 ignores the audience"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
