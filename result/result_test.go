package result

import (
	"encoding/json"
	"testing"
)

func TestEmptyOrAbortedRunIsNeverAPass(t *testing.T) {
	if v := (&Run{}).Verdict(); v != Error {
		t.Errorf("empty run verdict %s, want error", v)
	}
	r := &Run{Aborted: "interrupt", Results: []Result{{ID: "X", Status: Pass}}}
	if v := r.Verdict(); v != Error {
		t.Errorf("aborted run verdict %s, want error", v)
	}
	r = &Run{Results: []Result{{ID: "X", Status: Pass}, {ID: "Y", Status: Warn}}}
	if v := r.Verdict(); v != Warn {
		t.Errorf("verdict %s, want warn", v)
	}
}

func TestStatusSpellingsAreTheContract(t *testing.T) {
	for _, s := range []string{"pass", "fail", "warn", "skip", "n/a", "error"} {
		var st Status
		if err := json.Unmarshal([]byte(`"`+s+`"`), &st); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	var st Status
	if err := json.Unmarshal([]byte(`"passed"`), &st); err == nil {
		t.Error(`"passed" accepted`)
	}
}
