package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

const (
	textTitleWidth  = 48  // runes of a title in the terminal table
	detailMaxLength = 400 // runes of a message in a details line
)

// Text writes the matrix as an aligned plain-text table for a terminal, then the details of every cell that is not
// a plain pass, then a summary line per run with its counts and verdict.
func Text(w io.Writer, m *Matrix) error {
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
		line := []string{oneLine(row.ID), truncate(oneLine(row.Title), textTitleWidth)}
		for _, c := range row.Cells {
			line = append(line, CellLabel(c))
		}
		table = append(table, line)
	}
	writeAligned(bw, table)
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

// writeAligned pads every column to its widest cell, two spaces apart, with no trailing blanks.
func writeAligned(w io.Writer, table [][]string) {
	var widths []int
	for _, line := range table {
		for i, cell := range line {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	for _, line := range table {
		var b strings.Builder
		for i, cell := range line {
			b.WriteString(cell)
			if i < len(line)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
