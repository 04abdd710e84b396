// Package hostile holds the harness's security tests in one place: a table of hostile inputs (what an operator
// or a stranger's file can hand the tool) and a table of hostile servers (what a deployment under test can
// answer), each with the error or reason code the harness must give, within bounded memory. The package has no
// code of its own; docs/security.md describes the tables and where the limits live (package internal/limits).
package hostile
