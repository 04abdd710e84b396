package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// junitSuites and the types below are the JUnit XML schema as CI systems (Jenkins, GitLab, GitHub test reporters)
// read it: counts in attributes, time in seconds.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// runCaseClass names the synthetic test case that makes an empty or aborted run an error in CI, where a suite
// with no failing case would otherwise read as green.
const runCaseClass = "kfp-authcheck"

// JUnit writes a testsuite per run and a testcase per result, so that a JUnit consumer and the exit code agree:
// a failure or error that an expected deviation covers is skipped (as pytest reports xfail), so it does not fail
// the CI job; a pass that a deviation expected to fail (XPASS: the entry is stale) is a failure, as the exit code
// counts it; warn passes with a note in system-out, or is a failure when the run says fail_on warn.
func JUnit(w io.Writer, runs ...*result.Run) error {
	var present []*result.Run
	for _, r := range runs {
		if r != nil {
			present = append(present, r)
		}
	}
	labels := columnLabels(present)
	doc := junitSuites{Name: "kfp-authcheck"}
	var total float64
	for i, run := range present {
		suite, secs := junitSuiteOf(labels[i], run)
		doc.Suites = append(doc.Suites, suite)
		doc.Tests += suite.Tests
		doc.Failures += suite.Failures
		doc.Errors += suite.Errors
		doc.Skipped += suite.Skipped
		total += secs
	}
	doc.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	return nil
}

// junitSuiteOf renders one run and returns its duration in seconds.
func junitSuiteOf(label string, run *result.Run) (junitSuite, float64) {
	suite := junitSuite{Name: label}
	suite.Properties = []junitProperty{
		{Name: "target", Value: run.Target},
		{Name: "profile", Value: run.Profile},
		{Name: "tier", Value: run.Tier},
		{Name: "tool_version", Value: run.ToolVersion},
		{Name: "verdict", Value: string(run.Verdict())},
	}
	if run.ProfileDescription != "" {
		suite.Properties = append(suite.Properties, junitProperty{Name: "profile_description", Value: oneLine(run.ProfileDescription)})
	}
	if !run.Started.IsZero() {
		suite.Properties = append(suite.Properties, junitProperty{Name: "date", Value: run.Started.UTC().Format("2006-01-02T15:04:05Z")})
	}
	if run.FailOn != "" {
		suite.Properties = append(suite.Properties, junitProperty{Name: "fail_on", Value: run.FailOn})
	}
	for _, v := range run.Versions {
		suite.Properties = append(suite.Properties, junitProperty{Name: "version." + v.Component, Value: VersionText(v)})
	}
	if run.Aborted != "" {
		suite.Properties = append(suite.Properties, junitProperty{Name: "aborted", Value: run.Aborted})
	}
	var sum int64
	for _, res := range run.Results {
		suite.Cases = append(suite.Cases, junitCaseOf(res, run.FailsOnWarn()))
		sum += max(res.DurationMS, 0)
	}
	if c, ok := runProblemCase(run); ok {
		suite.Cases = append(suite.Cases, c)
	}
	for _, c := range suite.Cases {
		switch {
		case c.Failure != nil:
			suite.Failures++
		case c.Error != nil:
			suite.Errors++
		case c.Skipped != nil:
			suite.Skipped++
		}
	}
	suite.Tests = len(suite.Cases)
	secs := float64(sum) / 1000
	if !run.Started.IsZero() && run.Finished.After(run.Started) {
		secs = run.Finished.Sub(run.Started).Seconds()
	}
	suite.Time = seconds(secs)
	if !run.Started.IsZero() {
		suite.Timestamp = run.Started.UTC().Format("2006-01-02T15:04:05")
	}
	return suite, secs
}

func junitCaseOf(res result.Result, failOnWarn bool) junitCase {
	family := res.Family
	if family == "" {
		family = familyOfID(res.ID)
	}
	name := res.ID
	if t := oneLine(res.Title); t != "" {
		name += " " + t
	}
	c := junitCase{Classname: family, Name: name, Time: seconds(float64(max(res.DurationMS, 0)) / 1000)}
	cell := Cell{Status: res.Status, Reason: res.Reason, Deviation: res.Deviation}
	reason := string(res.Reason)
	if reason == "" {
		reason = strings.ToUpper(string(res.Status))
	}
	switch {
	case cell.Expected():
		c.Skipped = &junitSkipped{Message: joinNonEmpty(": ", CellLabel(cell), "expected deviation", res.Deviation)}
		c.SystemOut = problemBody(res)
	case res.Status == result.Fail:
		c.Failure = &junitProblem{Message: reason, Type: reason, Body: problemBody(res)}
	case res.Status == result.Error:
		c.Error = &junitProblem{Message: reason, Type: reason, Body: problemBody(res)}
	case res.Status == result.Skip || res.Status == result.NA:
		c.Skipped = &junitSkipped{Message: joinNonEmpty(": ", string(res.Status), string(res.Reason), res.Message)}
	case res.Status == result.Warn && failOnWarn:
		kind := joinNonEmpty(" ", "WARN", string(res.Reason))
		c.Failure = &junitProblem{Message: kind + " (the run fails on warnings)", Type: kind, Body: problemBody(res)}
	case res.Status == result.Warn:
		c.SystemOut = joinNonEmpty(": ", "warn", string(res.Reason), problemBody(res))
	case res.Status == result.Pass && res.Deviation != "":
		msg := "XPASS: an expected deviation is listed but the check passed; the entry is stale: " + res.Deviation
		c.Failure = &junitProblem{Message: msg, Type: string(result.UnexpectedPass), Body: joinNonEmpty("\n", msg, problemBody(res))}
	}
	return c
}

// runProblemCase is an error case for a run that never finished or has no results: Run.Verdict is error then, and
// the JUnit file must say so too.
func runProblemCase(run *result.Run) (junitCase, bool) {
	var msg, kind string
	switch {
	case run.Aborted != "":
		msg, kind = "the run was aborted: "+run.Aborted, string(result.Interrupted)
	case len(run.Results) == 0:
		msg, kind = "the run has no results", "EMPTY_RUN"
	default:
		return junitCase{}, false
	}
	return junitCase{
		Classname: runCaseClass, Name: "run completed", Time: seconds(0),
		Error: &junitProblem{Message: msg, Type: kind, Body: msg},
	}, true
}

// problemBody is the message with what the check expected and what it saw.
func problemBody(res result.Result) string {
	var lines []string
	if res.Message != "" {
		lines = append(lines, res.Message)
	}
	if res.Expected != "" {
		lines = append(lines, "expected: "+res.Expected)
	}
	if res.Actual != "" {
		lines = append(lines, "actual: "+res.Actual)
	}
	return strings.Join(lines, "\n")
}

func joinNonEmpty(sep string, parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}

func seconds(s float64) string {
	return fmt.Sprintf("%.3f", s)
}
