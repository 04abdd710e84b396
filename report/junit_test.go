package report

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// parsedJUnit is what a CI system reads back, declared independently of the writer's types.
type parsedJUnit struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Errors     int    `xml:"errors,attr"`
		Skipped    int    `xml:"skipped,attr"`
		Time       string `xml:"time,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Classname string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
			} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func parseJUnit(t *testing.T, runs ...*result.Run) parsedJUnit {
	t.Helper()
	var b strings.Builder
	if err := JUnit(&b, runs...); err != nil {
		t.Fatal(err)
	}
	var doc parsedJUnit
	if err := xml.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatalf("JUnit output does not parse: %v\n%s", err, b.String())
	}
	return doc
}

func TestJUnitParsesBackWithCounts(t *testing.T) {
	dex, standalone := twoRuns()
	doc := parseJUnit(t, dex, standalone)
	if doc.Tests != 8 || doc.Failures != 1 || doc.Errors != 0 || doc.Skipped != 3 {
		t.Fatalf("totals tests=%d failures=%d errors=%d skipped=%d, want 8 1 0 3", doc.Tests, doc.Failures, doc.Errors, doc.Skipped)
	}
	if len(doc.Suites) != 2 {
		t.Fatalf("suites = %d, want 2", len(doc.Suites))
	}
	d, s := doc.Suites[0], doc.Suites[1]
	if d.Name != "dex/embedded" || d.Tests != 5 || d.Failures != 0 || d.Skipped != 1 || d.Time != "2.500" {
		t.Errorf("dex suite = %s tests=%d failures=%d skipped=%d time=%s", d.Name, d.Tests, d.Failures, d.Skipped, d.Time)
	}
	if s.Name != "standalone/embedded" || s.Tests != 3 || s.Failures != 1 || s.Skipped != 2 || s.Time != "1.000" {
		t.Errorf("standalone suite = %s tests=%d failures=%d skipped=%d time=%s", s.Name, s.Tests, s.Failures, s.Skipped, s.Time)
	}
	fail := s.Cases[0]
	if fail.Classname != "SETUP" || !strings.HasPrefix(fail.Name, "SETUP-001 the pipeline URL") || fail.Time != "0.007" {
		t.Errorf("failing case = %q %q %q", fail.Classname, fail.Name, fail.Time)
	}
	if fail.Failure == nil || fail.Failure.Message != "UNSECURED" || fail.Failure.Type != "UNSECURED" ||
		fail.Failure.Body != "pipeline answered 200 without credentials\nexpected: 302, 401 or 403\nactual: 200" {
		t.Errorf("failure = %+v", fail.Failure)
	}
	byID := map[string]int{}
	for i, c := range d.Cases {
		byID[strings.Fields(c.Name)[0]] = i
	}
	xfail := d.Cases[byID["SA-001"]]
	if xfail.Failure != nil || xfail.Skipped == nil || !strings.Contains(xfail.Skipped.Message, "xfail AUDIENCE") ||
		!strings.Contains(xfail.Skipped.Message, "KFP 2.0 ignores the audience") {
		t.Errorf("expected deviation should be skipped with its reason, got failure=%+v skipped=%+v", xfail.Failure, xfail.Skipped)
	}
	warn := d.Cases[byID["OAUTH2P-007"]]
	if warn.Failure != nil || warn.Skipped != nil || !strings.Contains(warn.SystemOut, "COOKIE_FLAGS") {
		t.Errorf("warn should pass with a note, got %+v", warn)
	}
	na := s.Cases[1]
	if na.Skipped == nil || !strings.HasPrefix(na.Skipped.Message, "n/a: MISSING_CAPABILITY") {
		t.Errorf("n/a should be skipped, got %+v", na.Skipped)
	}
}

func TestJUnitErrorStatusAndBrokenRunsAreErrors(t *testing.T) {
	broken := &result.Run{Profile: "dex", Tier: "local", Results: []result.Result{
		{ID: "SA-001", Status: result.Error, Reason: result.Timeout, Message: "did not finish"},
		{ID: "SA-002", Status: result.Skip},
	}}
	empty := &result.Run{Profile: "dex", Tier: "local"}
	aborted := &result.Run{Profile: "dex", Tier: "local", Aborted: "deadline",
		Results: []result.Result{{ID: "SETUP-001", Status: result.Pass}}}
	doc := parseJUnit(t, broken, empty, aborted)
	want := []struct {
		name                           string
		tests, failures, errs, skipped int
	}{
		{"dex/local", 2, 0, 1, 1},
		{"dex/local#2", 1, 0, 1, 0},
		{"dex/local#3", 2, 0, 1, 0},
	}
	for i, w := range want {
		s := doc.Suites[i]
		if s.Name != w.name || s.Tests != w.tests || s.Failures != w.failures || s.Errors != w.errs || s.Skipped != w.skipped {
			t.Errorf("suite %d = %s %d/%d/%d/%d, want %+v", i, s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, w)
		}
	}
	if e := doc.Suites[0].Cases[0].Error; e == nil || e.Type != "TIMEOUT" || doc.Suites[0].Cases[0].Classname != "SA" {
		t.Errorf("error case = %+v", doc.Suites[0].Cases[0])
	}
	if e := doc.Suites[2].Cases[1].Error; e == nil || !strings.Contains(e.Message, "aborted: deadline") {
		t.Errorf("aborted run case = %+v", doc.Suites[2].Cases[1])
	}
	if doc.Errors != 3 || doc.Tests != 5 {
		t.Errorf("totals errors=%d tests=%d, want 3 5", doc.Errors, doc.Tests)
	}
	for _, p := range doc.Suites[1].Properties {
		if p.Name == "verdict" && p.Value != "error" {
			t.Errorf("empty run verdict property = %q, want error", p.Value)
		}
	}
}

func TestJUnitSurvivesCharactersXMLCannotHold(t *testing.T) {
	run := &result.Run{Profile: "p", Tier: "t", Results: []result.Result{
		{ID: "SETUP-001", Title: `<"&'>`, Status: result.Fail, Reason: result.UnexpectedResponse,
			Message: "control \x00\x1b chars and ]]> and </failure>"},
	}}
	doc := parseJUnit(t, run)
	if got := doc.Suites[0].Cases[0].Name; got != `SETUP-001 <"&'>` {
		t.Errorf("name = %q", got)
	}
	if body := doc.Suites[0].Cases[0].Failure.Body; !strings.Contains(body, "]]> and </failure>") {
		t.Errorf("body = %q", body)
	}
}

// TestJUnitStaleDeviationIsAFailure: an XPASS counts against the exit code (result.Run.Unexpected), so a JUnit
// consumer must see a failure too, never a green suite for a run that exits 1.
func TestJUnitStaleDeviationIsAFailure(t *testing.T) {
	run := &result.Run{Profile: "p", Tier: "t", Results: []result.Result{
		{ID: "SA-001", Status: result.Pass, Deviation: "KFP 2.0 ignores the audience"},
	}}
	c := parseJUnit(t, run).Suites[0].Cases[0]
	if c.Failure == nil || c.Failure.Type != string(result.UnexpectedPass) || !strings.HasPrefix(c.Failure.Message, "XPASS") {
		t.Fatalf("stale deviation case = %+v", c)
	}
}
