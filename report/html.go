package report

import (
	"bufio"
	"errors"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// HTML writes the matrix as one self-contained page: inline CSS, no script, no outside asset (a Content Security
// Policy of default-src 'none' makes the browser refuse any that slipped in). Rows are checks grouped by family,
// columns are runs; each cell shows its label in its status colour and, collapsed in a <details>, the message,
// expected and actual values, the deviation and the HTTP evidence. Every field goes through html/template's
// contextual escaping: a message holding markup prints as text.
func HTML(w io.Writer, m *Matrix) error {
	if m == nil {
		return errors.New("html report: no matrix")
	}
	bw := bufio.NewWriter(w)
	if err := htmlPage.Execute(bw, htmlData(m)); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}

type htmlView struct {
	Columns  []Column
	Families []htmlFamily
	Statuses []result.Status
	Span     int
	Date     string
	Tools    []string
}

type htmlFamily struct {
	Name string
	Rows []Row
}

func htmlData(m *Matrix) htmlView {
	v := htmlView{Columns: m.Columns, Statuses: result.Statuses, Span: len(m.Columns) + 2, Date: reportDate(m), Tools: toolVersions(m)}
	for _, row := range m.Rows { // rows are sorted by family already
		if n := len(v.Families); n == 0 || v.Families[n-1].Name != row.Family {
			v.Families = append(v.Families, htmlFamily{Name: row.Family})
		}
		f := &v.Families[len(v.Families)-1]
		f.Rows = append(f.Rows, row)
	}
	return v
}

// cellClass maps a cell to one of a fixed set of CSS classes; nothing from the run reaches a class attribute.
func cellClass(c Cell) string {
	switch {
	case c.Missing:
		return "st-missing"
	case c.Expected():
		return "st-expected"
	case c.Status == result.Pass && c.Deviation != "":
		return "st-xpass"
	}
	switch c.Status {
	case result.Pass:
		return "st-pass"
	case result.Warn:
		return "st-warn"
	case result.Fail:
		return "st-fail"
	case result.Error:
		return "st-error"
	case result.Skip:
		return "st-skip"
	case result.NA:
		return "st-na"
	}
	return "st-missing"
}

func verdictClass(s result.Status) string { return cellClass(Cell{Status: s}) }

func sortedHeaders(h map[string]string) [][2]string {
	out := make([][2]string, 0, len(h))
	for k, v := range h {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

var htmlFuncs = template.FuncMap{
	"cellLabel":   CellLabel,
	"profileText": profileText,
	"versions":    VersionsText,
	"refURL": func(ref string) string {
		u, _ := RefURL(ref)
		return u
	},
	"cellClass":    cellClass,
	"verdictClass": verdictClass,
	"summary":      summary,
	"headers":      sortedHeaders,
	"time":         formatTime,
	"oneLine":      oneLine,
	"short":        func(s string) string { return truncate(oneLine(s), 160) },
	"join":         strings.Join,
	"count":        func(col Column, s result.Status) int { return col.Counts[s] },
	"hasDetails": func(c Cell) bool {
		return !c.Missing && (c.Message != "" || c.ExpectedValue != "" || c.Actual != "" || c.Deviation != "" || len(c.Evidence) > 0)
	},
	"wall": func(col Column) string {
		if col.Started.IsZero() || col.Finished.Before(col.Started) {
			return ""
		}
		return col.Finished.Sub(col.Started).Round(time.Millisecond).String()
	},
}

var htmlPage = template.Must(template.New("report").Funcs(htmlFuncs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kfp-authcheck matrix</title>
<style>
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em; color: #1d2128; background: #fff; }
h1 { font-size: 1.4em; margin: 0 0 .6em; }
h2 { font-size: 1.1em; margin: 1.6em 0 .5em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #c9ced6; padding: .3em .5em; vertical-align: top; text-align: left; }
thead th { background: #eef1f5; position: sticky; top: 0; }
tr.family th { background: #dfe4eb; font-size: 1.02em; letter-spacing: .04em; }
td.id { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; white-space: nowrap; }
td.title { max-width: 28em; }
.sev { font-size: .75em; color: #5a6270; margin-left: .4em; }
.refs { font-size: .75em; color: #5a6270; }
.label { font-weight: 600; white-space: nowrap; }
.why { font-size: .8em; max-width: 22em; }
details { font-size: .8em; margin-top: .2em; }
details summary { cursor: pointer; color: #39414d; }
dl { margin: .3em 0; }
dt { font-weight: 600; }
dd { margin: 0 0 .3em 1em; overflow-wrap: anywhere; max-width: 40em; }
table.evidence th, table.evidence td { font-size: .95em; padding: .15em .3em; overflow-wrap: anywhere; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.st-pass { background: #d9f2dc; }
.st-warn { background: #fff1c2; }
.st-fail { background: #f9d0cd; }
.st-error { background: #f1c6e6; }
.st-skip { background: #eceff3; color: #4b5260; }
.st-na { background: #f4f5f7; color: #6b7280; }
.st-expected { background: #d6e6fb; }
.st-xpass { background: #ffd8b0; }
.st-missing { background: #fff; color: #9aa1ab; }
.unexpected { outline: 2px solid #b3261e; outline-offset: -2px; }
ul.legend { list-style: none; padding: 0; }
ul.legend li { margin: .2em 0; }
ul.legend span.swatch { display: inline-block; min-width: 8em; padding: 0 .4em; margin-right: .5em; border: 1px solid #c9ced6; }
</style>
</head>
<body>
<h1>kfp-authcheck matrix</h1>
<p>Judged {{.Date}} by kfp-authcheck {{join .Tools ", "}}.</p>
<h2>Runs</h2>
<table class="runs">
<thead><tr><th>Run</th><th>Target</th><th>Verdict</th>{{range .Statuses}}<th>{{.}}</th>{{end}}<th>unexpected</th><th>expected</th><th>missing</th><th>wall time</th><th>started</th><th>tool</th><th>profile</th><th>versions</th></tr></thead>
<tbody>
{{- range .Columns}}
<tr><td>{{.Label}}</td><td><code>{{oneLine .Target}}</code></td><td class="{{verdictClass .Verdict}}"><span class="label">{{.Verdict}}</span>{{if .Aborted}} <span class="why">aborted: {{short .Aborted}}</span>{{end}}</td>
{{- $col := .}}{{range $.Statuses}}<td>{{count $col .}}</td>{{end -}}
<td{{if .Unexpected}} class="st-fail"{{end}}>{{.Unexpected}}</td><td>{{.Expected}}</td><td>{{.Missing}}</td><td>{{wall .}}</td><td>{{time .Started}}</td><td>{{.ToolVersion}}</td><td>{{profileText .}}</td><td>{{versions .Versions}}</td></tr>
{{- end}}
</tbody>
</table>
<h2>Checks</h2>
<table class="matrix">
<thead><tr><th>ID</th><th>Check</th>{{range .Columns}}<th>{{.Label}}</th>{{end}}</tr></thead>
{{- range .Families}}
<tbody>
<tr class="family"><th colspan="{{$.Span}}">{{if .Name}}{{.Name}}{{else}}other{{end}}</th></tr>
{{- range .Rows}}
<tr id="check-{{.ID}}"><td class="id">{{.ID}}{{if .Severity}}<span class="sev">{{.Severity}}</span>{{end}}</td>
<td class="title">{{.Title}}{{if .References}}<div class="refs">{{range $i, $r := .References}}{{if $i}}, {{end}}{{with refURL $r}}<a href="{{.}}">{{$r}}</a>{{else}}{{$r}}{{end}}{{end}}</div>{{end}}</td>
{{- range .Cells}}
<td class="{{cellClass .}}{{if .Unexpected}} unexpected{{end}}"><span class="label">{{cellLabel .}}</span>
{{- if and .Message (not .Missing)}}<div class="why">{{short .Message}}</div>{{end}}
{{- if hasDetails .}}
<details><summary>details</summary><dl>
{{- if .Message}}<dt>message</dt><dd>{{.Message}}</dd>{{end}}
{{- if .ExpectedValue}}<dt>expected</dt><dd>{{.ExpectedValue}}</dd>{{end}}
{{- if .Actual}}<dt>actual</dt><dd>{{.Actual}}</dd>{{end}}
{{- if .Deviation}}<dt>expected deviation</dt><dd>{{.Deviation}}</dd>{{end}}
<dt>duration</dt><dd>{{.DurationMS}} ms</dd>
</dl>
{{- if .Evidence}}
<table class="evidence"><thead><tr><th>request</th><th>status</th><th>location / headers / note</th></tr></thead><tbody>
{{- range .Evidence}}
<tr><td><code>{{.Method}} {{.URL}}</code></td><td>{{if .Status}}{{.Status}}{{end}}</td><td>{{if .Location}}<div>Location: <code>{{.Location}}</code></div>{{end}}{{range headers .Headers}}<div>{{index . 0}}: <code>{{index . 1}}</code></div>{{end}}{{if .Note}}<div>{{.Note}}</div>{{end}}</td></tr>
{{- end}}
</tbody></table>
{{- end}}
</details>
{{- end}}
</td>
{{- end}}
</tr>
{{- end}}
</tbody>
{{- end}}
</table>
<h2>Legend</h2>
<ul class="legend">
<li><span class="swatch st-pass">pass</span>the check passed</li>
<li><span class="swatch st-warn">warn REASON</span>passed with a weakness worth fixing</li>
<li><span class="swatch st-fail">FAIL REASON</span>failed, and no expected deviation covers it (outlined: counts against the exit code)</li>
<li><span class="swatch st-error">ERROR REASON</span>the check could not reach a verdict</li>
<li><span class="swatch st-expected">xfail REASON</span>failed as the expected-deviation file says; not counted against the verdict</li>
<li><span class="swatch st-xpass">XPASS</span>an expected deviation is listed but the check passed: the entry is stale</li>
<li><span class="swatch st-skip">skip</span>not run</li>
<li><span class="swatch st-na">n/a</span>the target does not offer what the check needs</li>
<li><span class="swatch st-missing">-</span>the check is not in this run</li>
</ul>
<p class="refs">Secrets (passwords, tokens, codes, cookie values) were redacted when each run was recorded.</p>
</body>
</html>
`))
