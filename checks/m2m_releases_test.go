package checks

import (
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// TestM2MOnM2MDexOnlyReleases: on Kubeflow 1.9 to 1.11's default install (m2m-dex-only) the M2M checks run
// and pass on the gateway's 401 refusal of cluster tokens, as the releases ship it.
func TestM2MOnM2MDexOnlyReleases(t *testing.T) {
	for _, name := range []string{"kubeflow-1.9", "kubeflow-1.10", "kubeflow-1.11"} {
		t.Run(name, func(t *testing.T) {
			env := brokenStack(t, name, func(*profile.Profile) {})
			if !m2mRefused(env.Target) {
				t.Fatalf("%s: the profile does not say its gateway refuses cluster tokens", name)
			}
			for _, id := range []string{"M2M-001", "M2M-002", "M2M-004", "M2M-005"} {
				if r := runCheck(t, env, id); r.Status != result.Pass {
					t.Errorf("%s: %s %s: %s", id, r.Status, r.Reason, r.Message)
				}
			}
		})
	}
}
