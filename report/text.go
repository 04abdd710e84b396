package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

const (
	textTitleWidth  = 48  // runes of a title in the terminal table
	detailMaxLength = 400 // runes of a message in a details line
)

// TextOptions shape the text matrix for a terminal.
type TextOptions struct {
	// Width is the terminal's width in columns: titles get what the other columns leave (at least
	// minTitleWidth), in full when there is room. Zero: titles are cut at textTitleWidth, as in a file.
	Width int
	// Wide never cuts a title.
	Wide bool
	// Color paints cell labels and verdicts with ANSI colours (only for a terminal; NO_COLOR is the caller's).
	Color bool
}

const minTitleWidth = 20

// Text writes the matrix as an aligned plain-text table for a file, then the details of every cell that is not
// a plain pass, then a summary line per run with its counts and verdict.
func Text(w io.Writer, m *Matrix) error { return TextWith(w, m, TextOptions{}) }

// TextWith is Text for a terminal of the given width, with colour where asked.
func TextWith(w io.Writer, m *Matrix, o TextOptions) error {
	if m == nil {
		return errors.New("text report: no matrix")
	}
	bw := bufio.NewWriter(w)
	header := []string{"ID", "TITLE"}
	for _, col := range m.Columns {
		header = append(header, col.Label)
	}
	table := [][]string{header}
	for _, row := range m.Rows {
		line := []string{oneLine(row.ID), oneLine(row.Title)}
		for _, c := range row.Cells {
			line = append(line, CellLabel(c))
		}
		table = append(table, line)
	}
	titleWidth := textTitleWidth
	switch {
	case o.Wide:
		titleWidth = 0
	case o.Width > 0:
		titleWidth = max(o.Width-otherColumnsWidth(table), minTitleWidth)
	}
	for _, line := range table[1:] {
		if titleWidth > 0 {
			line[1] = truncate(line[1], titleWidth)
		}
	}
	var paint func(row, col int, cell string) string
	if o.Color {
		paint = func(row, col int, cell string) string {
			if row == 0 || col < 2 {
				return cell
			}
			return colorize(m.Rows[row-1].Cells[col-2], cell)
		}
	}
	writeAlignedPainted(bw, table, paint)
	writeTextDetails(bw, m)
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "Summary:")
	if len(m.Columns) == 0 {
		fmt.Fprintln(bw, "  no runs")
	}
	for _, col := range m.Columns {
		fmt.Fprintf(bw, "  %s: verdict %s; %s", col.Label, col.Verdict, summary(col))
		if t := oneLine(col.Target); t != "" && t != col.Label {
			fmt.Fprintf(bw, "; target %s", t)
		}
		if col.Aborted != "" {
			fmt.Fprintf(bw, "; aborted: %s", oneLine(col.Aborted))
		}
		fmt.Fprintln(bw)
		fmt.Fprintf(bw, "    profile %s\n    versions %s\n", profileText(col), VersionsText(col.Versions))
	}
	if len(m.Columns) > 0 {
		fmt.Fprintf(bw, "Judged %s by kfp-authcheck %s.\n", reportDate(m), strings.Join(toolVersions(m), ", "))
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("text report: %w", err)
	}
	return nil
}

func writeTextDetails(w io.Writer, m *Matrix) {
	list := details(m)
	if len(list) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Details:")
	for _, d := range list {
		fmt.Fprintf(w, "  %s [%s] %s%s\n", oneLine(d.id), d.column, CellLabel(d.cell), d.tail(oneLine))
	}
}

// otherColumnsWidth is the width every column but the title takes, gaps included.
func otherColumnsWidth(table [][]string) int {
	widths := map[int]int{}
	for _, line := range table {
		for i, cell := range line {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	total := 0
	for i, wd := range widths {
		if i != 1 {
			total += wd
		}
	}
	return total + 2*(len(widths)-1)
}

// ANSI colours of the cell labels: red for what counts against the run, yellow for warnings and stale entries,
// green for passes, dim for what did not run.
const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[1;31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiDim    = "\x1b[2m"
)

func colorize(c Cell, s string) string {
	var code string
	switch {
	case c.Missing || c.Status == result.Skip || c.Status == result.NA:
		code = ansiDim
	case c.Unexpected():
		code = ansiRed
	case c.Expected():
		code = ansiBlue
	case c.Status == result.Warn:
		code = ansiYellow
	case c.Status == result.Pass:
		code = ansiGreen
	default:
		return s
	}
	return code + s + ansiReset
}

// writeAligned pads every column to its widest cell, two spaces apart, with no trailing blanks.
func writeAligned(w io.Writer, table [][]string) { writeAlignedPainted(w, table, nil) }

// writeAlignedPainted is writeAligned with each cell passed through paint after its width is measured, so colour
// codes never count as width.
func writeAlignedPainted(w io.Writer, table [][]string, paint func(row, col int, cell string) string) {
	var widths []int
	for _, line := range table {
		for i, cell := range line {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	for r, line := range table {
		var b strings.Builder
		for i, cell := range line {
			shown := cell
			if paint != nil {
				shown = paint(r, i, cell)
			}
			b.WriteString(shown)
			if i < len(line)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
