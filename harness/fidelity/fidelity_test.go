package fidelity

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

func run(rs ...result.Result) *result.Run { return &result.Run{Results: rs} }

func TestDiffClassifies(t *testing.T) {
	emb := run(
		result.Result{ID: "A-001", Status: result.Pass},
		result.Result{ID: "A-002", Status: result.Pass},
		result.Result{ID: "A-003", Status: result.Fail, Reason: result.GatewayConfig},
		result.Result{ID: "A-004", Status: result.Pass, Actual: "x_AbCdEf_1_csrf(Secure=true)"},
		result.Result{ID: "A-005", Status: result.Pass, Actual: "401"},
	)
	loc := run(
		result.Result{ID: "A-001", Status: result.Pass},
		result.Result{ID: "A-002", Status: result.NA, Reason: result.MissingCapability, Message: "no [clock]"},
		result.Result{ID: "A-003", Status: result.Fail, Reason: result.LoginFlow},
		result.Result{ID: "A-004", Status: result.Pass, Actual: "x_zz-9_Qwe_csrf(Secure=true)"},
		result.Result{ID: "A-005", Status: result.Pass, Actual: "403"},
	)
	var same []Diff
	diffs := diff("p", emb, loc, []Known{{Profile: "q", ID: "A-003", Reason: "other profile"}}, &same)
	if len(diffs) != 2 || diffs[0].ID != "A-002" || diffs[1].ID != "A-003" {
		t.Fatalf("diffs = %+v, want A-002 and A-003", diffs)
	}
	if !strings.Contains(diffs[0].Known, "not run on the local tier") {
		t.Errorf("a missing capability should explain itself, got %q", diffs[0].Known)
	}
	if diffs[1].Known != "" {
		t.Errorf("a known entry of another profile must not explain A-003: %q", diffs[1].Known)
	}
	if len(same) != 1 || same[0].ID != "A-005" {
		t.Errorf("same-verdict differences = %+v, want only A-005 (A-004 differs by the random CSRF suffix only)", same)
	}
	rep := &Report{Diffs: diffs}
	if rep.Unexplained() != 1 {
		t.Errorf("unexplained = %d, want 1", rep.Unexplained())
	}
	var b bytes.Buffer
	WriteTable(&b, rep)
	if !strings.Contains(b.String(), "| p | A-003 | fail GATEWAY_CONFIG | fail LOGIN_FLOW | NO:") {
		t.Errorf("table:\n%s", b.String())
	}
}

func TestKnownDifferencesParse(t *testing.T) {
	if _, err := KnownDifferences(); err != nil {
		t.Fatal(err)
	}
}

// TestNormaliseRunParts: what differs on every run (fixture names with the run ID, loopback ports, the CSRF
// cookie's per-request part) is not a difference between the tiers; the rest of the text is.
func TestNormaliseRunParts(t *testing.T) {
	a := normalise("kfp-authcheck-17a39148-s13-ns2's token at 127.0.0.1:35549: 403; cookie _oauth2_proxy_kubeflow_AbC-12_x_csrf")
	b := normalise("kfp-authcheck-24767903-s7-ns2's token at 127.0.0.1:41001: 403; cookie _oauth2_proxy_kubeflow_zz9-__Q1_csrf")
	if a != b {
		t.Errorf("run parts not normalised:\n%s\n%s", a, b)
	}
	if normalise("ns2's token: 403") == normalise("ns2's token: 200") {
		t.Error("normalise hid a real difference")
	}
}
