package checks

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kfp-authcheck/kfp-authcheck/profile"
)

func TestScratchBreaks(t *testing.T) {
	for _, tc := range []struct {
		name, prof, id string
		brk            func(p *profile.Profile)
		before         func(env *Env)
	}{
		{"nogw", "kubeflow", "ISO-007", func(p *profile.Profile) { p.MultiUser = false; p.Gateway = nil; p.Dex = nil; p.Users = nil }, nil},
		{"spb", "kubeflow", "DEX-LOCAL-002", func(p *profile.Profile) { p.Gateway.SkipProviderButton = true }, nil},
		{"spb-dkf", "deploykf", "DEX-LOCAL-002", func(p *profile.Profile) { p.Gateway.SkipProviderButton = false }, nil},
		{"iso4", "kubeflow", "ISO-004", func(p *profile.Profile) {}, nil},
		{"iso5", "kubeflow", "ISO-005", func(p *profile.Profile) {}, nil},
		{"sa1", "kubeflow", "SA-001", func(p *profile.Profile) {}, func(env *Env) {
			env.Target.Kube.RbacV1().ClusterRoles().Delete(context.Background(), "kubeflow-edit", metav1.DeleteOptions{})
		}},
		{"sa3", "kubeflow", "SA-003", func(p *profile.Profile) {}, func(env *Env) {
			env.Target.Kube.RbacV1().ClusterRoles().Delete(context.Background(), "kubeflow-edit", metav1.DeleteOptions{})
		}},
		{"sa4-none", "kubeflow", "SA-004", func(p *profile.Profile) { p.KFP.UIPolicy = "none" }, nil},
		{"sa7", "kubeflow", "SA-007", func(p *profile.Profile) {}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := brokenStack(t, tc.prof, tc.brk)
			if tc.name == "iso4" {
				env.Target.Profile.KFP.AuthorizePipelineReferences = true
			}
			if tc.name == "iso5" {
				env.Target.Profile.KFP.AuthorizeServiceAccounts = true
			}
			if tc.before != nil {
				tc.before(env)
			}
			r := runCheck(t, env, tc.id)
			t.Logf("%s %s: %s %s: %s", tc.name, tc.id, r.Status, r.Reason, r.Message)
		})
	}
}
