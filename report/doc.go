// Package report renders runs: the run JSON (the source of truth, read back strictly), and a matrix of checks by
// runs as plain text, Markdown and JUnit XML. Renderings print only fields of the runs; they add nothing secret and
// take no decision the result model has not already taken (Run.Verdict, Run.Unexpected).
package report
