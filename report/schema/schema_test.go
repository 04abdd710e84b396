package schema_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kfp-authcheck/kfp-authcheck/report"
	"github.com/kfp-authcheck/kfp-authcheck/report/schema"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// Compile compiles one of the schemas (run or matrix), with the other resolvable by its $id.
func compile(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, n := range []string{"run.schema.json", "matrix.schema.json"} {
		data, err := schema.FS.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if err := c.AddResource(schema.Base+n, doc); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.Compile(schema.Base + name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(doc)
}

func sampleRun() *result.Run {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return &result.Run{
		Label: "Kubeflow 1.10", ToolVersion: "v0.1.0", Target: "https://kf.example.com", Profile: "kubeflow",
		ProfileDescription: "Kubeflow 1.10", Tier: "live", Started: t0, Finished: t0.Add(time.Second), FailOn: "warn",
		Versions: []result.Version{{Component: "dex", Version: "v2.41.1", Source: "the profile", FromProfile: true}},
		Results: []result.Result{
			{ID: "SETUP-001", Title: "t", Family: "SETUP", Severity: "MUST", Status: result.Pass, DurationMS: 3,
				References: []string{"manifests#2844"}},
			{ID: "SA-001", Status: result.Fail, Reason: result.Audience, Deviation: "known", Expected: "401", Actual: "200",
				Evidence: []result.Exchange{{Method: "GET", URL: "https://kf.example.com/pipeline", Status: 200, Headers: map[string]string{"Set-Cookie": "[REDACTED]"}}}},
			{ID: "OAUTH2P-007", Status: result.Warn, Reason: result.CookieFlags},
		},
		Fixtures: &result.FixtureCleanup{RunID: "abc", Label: "kfp-authcheck/run=abc"},
	}
}

// TestWrittenRunAndMatrixValidate: what WriteJSON and report merge write is valid against the published schemas.
// The command's tests validate the JSON of real runs (cmd/kfp-authcheck TestRealOutputsMatchTheSchema).
func TestWrittenRunAndMatrixValidate(t *testing.T) {
	runSchema, matrixSchema := compile(t, "run.schema.json"), compile(t, "matrix.schema.json")
	var b bytes.Buffer
	if err := report.WriteJSON(&b, sampleRun()); err != nil {
		t.Fatal(err)
	}
	if err := validate(t, runSchema, b.Bytes()); err != nil {
		t.Fatalf("a written run does not validate: %v", err)
	}
	other := sampleRun()
	other.Results = other.Results[:1]
	m, err := json.Marshal(report.Merge(sampleRun(), other))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(t, matrixSchema, m); err != nil {
		t.Fatalf("a merged matrix does not validate: %v\n%s", err, m)
	}
}

// TestSchemaRefusesWhatIsNotAContractRun: the schema is not a rubber stamp.
func TestSchemaRefusesWhatIsNotAContractRun(t *testing.T) {
	runSchema, matrixSchema := compile(t, "run.schema.json"), compile(t, "matrix.schema.json")
	var b bytes.Buffer
	report.WriteJSON(&b, sampleRun())
	good := b.String()
	for name, doc := range map[string]string{
		"empty object":   `{}`,
		"status passed":  strings.Replace(good, `"status": "pass"`, `"status": "passed"`, 1),
		"unknown reason": strings.Replace(good, `"reason": "AUDIENCE"`, `"reason": "SOMETHING_ELSE"`, 1),
		"newer schema":   strings.Replace(good, `"schema_version": 1`, `"schema_version": 2`, 1),
		"unknown field":  strings.Replace(good, `"tier": "live"`, `"tier": "live", "Tier": "x"`, 1),
		"bad check id":   strings.Replace(good, `"id": "SETUP-001"`, `"id": "setup one"`, 1),
		"bad date":       strings.Replace(good, `"started": "2025-03-01T12:00:00Z"`, `"started": "yesterday"`, 1),
	} {
		if doc == good {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if err := validate(t, runSchema, []byte(doc)); err == nil {
			t.Errorf("%s: validated", name)
		}
	}
	if err := validate(t, matrixSchema, []byte(`{"schema_version": 1, "columns": [], "rows": []}`)); err == nil {
		t.Error("a matrix without columns validated")
	}
	if err := validate(t, matrixSchema, []byte(`{"Columns": [], "Rows": []}`)); err == nil {
		t.Error("the old Go-field-named matrix validated")
	}
}

// TestReasonCodesDocumentedEverywhere: every Reason constant in package result has a ReasonDoc with a meaning and
// a fix, in declaration order, and the schema's reason enum is exactly that list.
func TestReasonCodesDocumentedEverywhere(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "../../result/result.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || vs.Type == nil || len(vs.Values) != 1 {
			return true
		}
		if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "Reason" {
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok {
				if v, _ := strconv.Unquote(lit.Value); v != "" {
					declared = append(declared, v)
				}
			}
		}
		return true
	})
	var documented []string
	for _, d := range report.Reasons {
		documented = append(documented, string(d.Code))
		if d.Meaning == "" || d.Fix == "" {
			t.Errorf("%s: meaning or fix missing", d.Code)
		}
	}
	if !reflect.DeepEqual(declared, documented) {
		t.Errorf("result declares %v\nreport.Reasons documents %v", declared, documented)
	}
	var doc struct {
		Retired []string `json:"x-retired-check-ids"`
		Defs    struct {
			Reason struct {
				Enum []string `json:"enum"`
			} `json:"reason"`
		} `json:"$defs"`
	}
	data, _ := schema.FS.ReadFile("run.schema.json")
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(doc.Defs.Reason.Enum, documented) {
		t.Errorf("run.schema.json reason enum %v\nwant %v", doc.Defs.Reason.Enum, documented)
	}
	if doc.Retired == nil || !reflect.DeepEqual(doc.Retired, report.RetiredChecks) {
		t.Errorf("run.schema.json x-retired-check-ids %v, report.RetiredChecks %v", doc.Retired, report.RetiredChecks)
	}
}
