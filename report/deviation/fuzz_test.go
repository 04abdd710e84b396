package deviation

import (
	"path"
	"strings"
	"testing"
)

// FuzzParse: any bytes give a valid deviation file or an error, never a panic; every accepted entry has a reason
// and a usable glob.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"deviations:\n- {checks: OOB-*, reason: no OOB client here}\n",
		`{"deviations": [{"checks": "DEX-LOCAL-00*", "profiles": ["kubeflow"], "reason": "known, see #1"}]}`,
		"deviations: [{checks: X, reason: ''}]\n",
		"deviations: [{checks: '[', reason: r}]\n",
		"deviations: []\n---\ndeviations: [{checks: '*', reason: all}]\n",
		"deviations: [&e {checks: X, reason: r}, *e, *e]\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		df, err := Parse("fuzz.yaml", b)
		if err != nil {
			return
		}
		for i, e := range df.Deviations {
			if strings.TrimSpace(e.Reason) == "" {
				t.Fatalf("entry %d accepted without a reason", i)
			}
			if _, err := path.Match(strings.ToUpper(e.Checks), "X"); err != nil || e.Checks == "" {
				t.Fatalf("entry %d accepted with a bad glob %q", i, e.Checks)
			}
		}
	})
}
