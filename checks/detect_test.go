package checks

import (
	"context"
	"strings"
	"testing"

	"github.com/kfp-authcheck/kfp-authcheck/clusters/embedded"
	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// TestDetectProfilePicksEachProfileFromItsGateway points detection at each profile's stack as a live target
// with no profile named: the unauthenticated answers alone must pick that profile (deployKF and Kubeflow 1.8
// both redirect; their API answers differ), and the capabilities follow the chosen profile.
func TestDetectProfilePicksEachProfileFromItsGateway(t *testing.T) {
	for _, name := range profile.Names() {
		t.Run(name, func(t *testing.T) {
			p, err := profile.Get(name)
			if err != nil {
				t.Fatal(err)
			}
			stack, err := embedded.Start(context.Background(), p, embedded.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer stack.Close()
			desc := stack.Description()
			desc.Profile = target.ProfileAuto
			tg, err := target.FromFile(desc, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tg.Profile != nil || !tg.AutoProfile {
				t.Fatalf("profile auto must leave the profile open until detection: %v", tg.ProfileName())
			}
			d, err := DetectProfile(context.Background(), tg)
			if err != nil {
				t.Fatal(err)
			}
			want := name
			if strings.HasPrefix(name, "kubeflow-") && name != "kubeflow-1.8" {
				want = "kubeflow" // 1.9 to 1.11 answer alike without a login: the alias of the newest
			}
			if d.Chosen == nil || d.Chosen.Name != want {
				t.Fatalf("%s: chose %v; %s", name, d.Chosen, d.Describe())
			}
			if !strings.Contains(d.Describe(), "chose "+want) {
				t.Errorf("description does not say the choice: %s", d.Describe())
			}
			tg.SetProfile(d.Chosen)
			for _, c := range d.Chosen.Capabilities {
				if c == target.CapDexLDAP || c == target.CapOOBClient {
					continue // these follow the users and oob_client_id the file gives
				}
				if !tg.Has(c) {
					t.Errorf("capability %s of %s is missing after detection", c, name)
				}
			}
		})
	}
}

// TestDetectProfileChoosesNoneForAnUnknownGateway: answers no profile expects leave the run without a profile.
func TestDetectProfileChoosesNoneForAnUnknownGateway(t *testing.T) {
	d := &Detection{UIClass: "status 418", UIStatus: 418, APIStatus: 418}
	if !strings.Contains(d.Describe(), "no built-in profile") {
		t.Errorf("%s", d.Describe())
	}
	p, _ := profile.Get("kubeflow")
	tg := &target.Target{Users: []target.User{{Email: "a@b", Connector: "local"}}}
	tg.SetProfile(p)
	tg.SetProfile(nil)
	if tg.Profile != nil || !tg.Has(target.CapGateway) {
		t.Errorf("without a profile a target with users keeps the common Kubeflow shape: %v", tg.CapabilityList())
	}
	plan := Plan(tg, All())
	if len(plan) != len(All()) {
		t.Fatalf("plan covers %d of %d checks", len(plan), len(All()))
	}
	for _, pc := range plan {
		if pc.Check.ID == "DEX-LOCAL-009" && (pc.Runs || !strings.Contains(pc.Why, "clock")) {
			t.Errorf("DEX-LOCAL-009 needs the clock a live target lacks: %+v", pc)
		}
	}
}
