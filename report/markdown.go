package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// Markdown writes the matrix as a GitHub table with the same labels as Text, then a summary table per run, the
// details of every cell that is not a plain pass, and a legend.
func Markdown(w io.Writer, m *Matrix) error {
	if m == nil {
		return errors.New("markdown report: no matrix")
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "## kfp-authcheck matrix")
	fmt.Fprintln(bw)
	fmt.Fprintf(bw, "Judged %s by kfp-authcheck %s.\n", reportDate(m), mdEscape(strings.Join(toolVersions(m), ", ")))
	fmt.Fprintln(bw)
	header := []string{"ID", "Check"}
	for _, col := range m.Columns {
		header = append(header, mdEscape(col.Label))
	}
	writeMDRow(bw, header)
	writeMDRule(bw, len(header))
	for _, row := range m.Rows {
		line := []string{mdEscape(row.ID), mdEscape(row.Title)}
		for _, c := range row.Cells {
			line = append(line, mdCell(c))
		}
		writeMDRow(bw, line)
	}
	writeMDSummary(bw, m)
	writeMDRuns(bw, m)
	writeMDDetails(bw, m)
	writeMDReferences(bw, m)
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "### Legend")
	fmt.Fprintln(bw)
	for _, l := range legend {
		fmt.Fprintf(bw, "- `%s`: %s\n", l[0], l[1])
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("markdown report: %w", err)
	}
	return nil
}

func writeMDSummary(w io.Writer, m *Matrix) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "### Summary")
	fmt.Fprintln(w)
	header := []string{"Run", "Target", "Verdict"}
	for _, s := range result.Statuses {
		header = append(header, string(s))
	}
	header = append(header, "unexpected", "expected", "missing", "aborted")
	writeMDRow(w, header)
	writeMDRule(w, len(header))
	for _, col := range m.Columns {
		line := []string{mdEscape(col.Label), mdEscape(col.Target), mdVerdict(col.Verdict)}
		for _, s := range result.Statuses {
			line = append(line, fmt.Sprint(col.Counts[s]))
		}
		line = append(line, fmt.Sprint(col.Unexpected), fmt.Sprint(col.Expected), fmt.Sprint(col.Missing), mdEscape(col.Aborted))
		writeMDRow(w, line)
	}
}

// writeMDRuns names, per run, the server profile with its description and the versions the run judged.
func writeMDRuns(w io.Writer, m *Matrix) {
	if len(m.Columns) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "### Runs")
	fmt.Fprintln(w)
	writeMDRow(w, []string{"Run", "Profile", "Tier", "Versions", "Started", "Tool"})
	writeMDRule(w, 6)
	for _, col := range m.Columns {
		writeMDRow(w, []string{mdEscape(col.Label), mdEscape(profileText(col)), mdEscape(col.Tier),
			mdEscape(VersionsText(col.Versions)), formatTime(col.Started), mdEscape(col.ToolVersion)})
	}
}

// writeMDReferences lists each check's references, as links where they name an address.
func writeMDReferences(w io.Writer, m *Matrix) {
	first := true
	for _, row := range m.Rows {
		if len(row.References) == 0 {
			continue
		}
		if first {
			fmt.Fprintln(w)
			fmt.Fprintln(w, "### References")
			fmt.Fprintln(w)
			first = false
		}
		refs := make([]string, 0, len(row.References))
		for _, r := range row.References {
			refs = append(refs, mdRef(r))
		}
		fmt.Fprintf(w, "- %s: %s\n", mdEscape(row.ID), strings.Join(refs, ", "))
	}
}

// mdRef is a reference as a Markdown link where it names an address, else escaped text.
func mdRef(ref string) string {
	if u, ok := RefURL(ref); ok {
		return "[" + mdEscape(ref) + "](" + strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(u) + ")"
	}
	return mdEscape(ref)
}

func writeMDDetails(w io.Writer, m *Matrix) {
	list := details(m)
	if len(list) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "### Details")
	fmt.Fprintln(w)
	for _, d := range list {
		fmt.Fprintf(w, "- %s (%s): %s%s\n", mdEscape(d.id), mdEscape(d.column), mdCell(d.cell), d.tail(mdEscape))
	}
}

// mdCell is CellLabel, with unexpected failures in bold so they stand out in a wide table.
func mdCell(c Cell) string {
	label := mdEscape(CellLabel(c))
	if c.Unexpected() {
		return "**" + label + "**"
	}
	return label
}

func mdVerdict(s result.Status) string {
	if s == result.Fail || s == result.Error {
		return "**" + string(s) + "**"
	}
	return string(s)
}

func writeMDRow(w io.Writer, cells []string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
}

func writeMDRule(w io.Writer, n int) {
	fmt.Fprintf(w, "|%s\n", strings.Repeat(" --- |", n))
}

// mdEscaper backslash-escapes what could end a table cell (|), open raw HTML (<, >), or start code, emphasis or
// a link; the backslash itself first, so an escape in the input stays literal.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "<", `\<`, ">", `\>`, "`", "\\`", "*", `\*`, "[", `\[`, "]", `\]`,
)

func mdEscape(s string) string {
	return mdEscaper.Replace(oneLine(s))
}
