package report

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// columnLabels names each run "<profile>/<tier>" (or its target when it has no profile) and makes the names
// unique with a "#2", "#3" suffix, so two runs of one profile stay apart.
func columnLabels(runs []*result.Run) []string {
	labels := make([]string, len(runs))
	taken := map[string]bool{}
	for i, run := range runs {
		base := baseLabel(run)
		label := base
		for n := 2; taken[label]; n++ {
			label = fmt.Sprintf("%s#%d", base, n)
		}
		taken[label] = true
		labels[i] = label
	}
	return labels
}

func baseLabel(run *result.Run) string {
	if l := oneLine(run.Label); l != "" {
		return l
	}
	profile, tier, target := oneLine(run.Profile), oneLine(run.Tier), oneLine(run.Target)
	switch {
	case profile != "" && tier != "":
		return profile + "/" + tier
	case profile != "":
		return profile
	case target != "":
		return target
	default:
		return "run"
	}
}

// CellLabel is how a cell reads in the text and Markdown tables: "pass", "warn REASON", "FAIL REASON",
// "ERROR REASON", "xfail REASON" (a failure an expected deviation covers), "XPASS" (a deviation listed for a check
// that passed), "skip", "n/a", and "-" for a check the run does not have.
func CellLabel(c Cell) string {
	if c.Missing {
		return "-"
	}
	var word string
	switch {
	case c.Expected() && c.Status == result.Fail:
		word = "xfail"
	case c.Expected():
		word = "xerror"
	case c.Status == result.Pass && c.Deviation != "":
		return "XPASS"
	case c.Status == result.Fail || c.Status == result.Error:
		word = strings.ToUpper(string(c.Status))
	case c.Status == result.Warn:
		word = string(c.Status)
	default: // pass, skip, n/a read well without a reason; the details list carries it
		return string(c.Status)
	}
	if c.Reason != "" {
		return word + " " + string(c.Reason)
	}
	return word
}

// legend explains every label CellLabel produces, in the order a reader meets them.
var legend = [][2]string{
	{"pass", "the check passed"},
	{"warn REASON", "passed with a weakness worth fixing"},
	{"FAIL REASON", "failed, and no expected deviation covers it"},
	{"ERROR REASON", "the check could not reach a verdict"},
	{"xfail REASON", "failed as the expected-deviation file says (xerror: an expected error); not counted against the verdict"},
	{"XPASS", "an expected deviation is listed but the check passed: the entry is stale"},
	{"skip", "not run"},
	{"n/a", "the target does not offer what the check needs"},
	{"-", "the check is not in this run"},
}

// detail is one cell worth a line below a table: anything but a plain pass, skip or n/a.
type detail struct {
	id, column string
	cell       Cell
}

// details lists the cells worth a line, row by row, in column order.
func details(m *Matrix) []detail {
	var out []detail
	for _, row := range m.Rows {
		for i, c := range row.Cells {
			if needsDetail(c) {
				out = append(out, detail{id: row.ID, column: m.Columns[i].Label, cell: c})
			}
		}
	}
	return out
}

// tail is ": message (expected deviation: reason)", each part folded to one line, bounded, and escaped for the
// format that prints it.
func (d detail) tail(escape func(string) string) string {
	var s string
	if msg := oneLine(d.cell.Message); msg != "" {
		s += ": " + escape(truncate(msg, detailMaxLength))
	}
	if dev := oneLine(d.cell.Deviation); dev != "" {
		s += " (expected deviation: " + escape(truncate(dev, detailMaxLength)) + ")"
	}
	return s
}

// needsDetail reports whether a cell's message belongs in the details list below a table.
func needsDetail(c Cell) bool {
	if c.Missing {
		return false
	}
	switch c.Status {
	case result.Fail, result.Error, result.Warn:
		return true
	}
	return c.Deviation != ""
}

// summary is one column's tally: every status in display order, then the unexpected failures (what the exit code
// counts), the expected ones and the missing checks.
func summary(col Column) string {
	parts := make([]string, 0, len(result.Statuses)+1)
	for _, s := range result.Statuses {
		part := fmt.Sprintf("%d %s", col.Counts[s], s)
		parts = append(parts, part)
	}
	s := strings.Join(parts, ", ") + fmt.Sprintf("; %d unexpected", col.Unexpected)
	if col.Expected > 0 {
		s += fmt.Sprintf("; %d expected", col.Expected)
	}
	if col.Missing > 0 {
		s += fmt.Sprintf("; %d missing", col.Missing)
	}
	return s
}

// oneLine folds control characters (newlines, tabs) into spaces so a field cannot break a table row.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// truncate shortens s to at most n runes, marking the cut with "...".
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 3 {
		return string(r[:n])
	}
	return string(r[:n-3]) + "..."
}
