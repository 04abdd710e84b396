package profile

import "testing"

func TestBuiltinProfilesLoad(t *testing.T) {
	for _, n := range Names() {
		p, err := Get(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if p.Name != n {
			t.Errorf("profile file %s names itself %q", n, p.Name)
		}
	}
	p, _ := Get("kubeflow")
	if p.Gateway.CookieExpire.Hours() != 24 {
		t.Errorf("cookie_expire = %v, want 24h", p.Gateway.CookieExpire)
	}
	d, _ := Get("deploykf")
	if d.Dex.RefreshReuseInterval.Seconds() != 30 || d.Dex.RefreshIdle.Hours() != 168 || d.Dex.RefreshAbsolute.Hours() != 2160 {
		t.Errorf("deploykf refresh expiry %v/%v/%v, want 30s/168h/2160h", d.Dex.RefreshReuseInterval, d.Dex.RefreshIdle, d.Dex.RefreshAbsolute)
	}
}

func TestUnknownProfileNamesTheKnownOnes(t *testing.T) {
	_, err := Get("kubeflw")
	if err == nil || !contains(err.Error(), "deploykf") {
		t.Fatalf("want an error listing known profiles, got %v", err)
	}
}

func TestUnknownKeyIsRejected(t *testing.T) {
	_, err := parse([]byte("name: x\nmulti_user: false\nkfp: {version: '1'}\ncapabilites: []\n"), "inline")
	if err == nil || !contains(err.Error(), "capabilites") {
		t.Fatalf("want an error naming the unknown key, got %v", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// Capabilities are a closed vocabulary: a misspelled one is an error naming it, never a silent n/a, and the ones
// that follow from a running target (clock, kube) cannot be declared by a profile.
func TestCapabilitiesAreAClosedVocabulary(t *testing.T) {
	base := "name: x\nmulti_user: false\nkfp: {version: '1'}\n"
	for _, tc := range []struct{ yaml, want string }{
		{base + "capabilities: [gateway, m2n]\n", `unknown capability "m2n"`},
		{base + "capabilities: [clock]\n", `capability "clock" follows from what the target offers`},
		{base + "capabilities: [{a: b}]\n", "a capability is a string"},
	} {
		_, err := parse([]byte(tc.yaml), "inline")
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error naming %q", tc.yaml, err, tc.want)
		}
	}
	p, err := parse([]byte(base+"capabilities: [gateway, oob-client]\n"), "inline")
	if err != nil || !p.Has(CapGateway) || !p.Has(CapOOBClient) || p.Has(CapM2M) {
		t.Fatalf("a valid list: %v %+v", err, p)
	}
	for _, c := range Vocabulary() {
		if got, err := ParseCapability(string(c.Name)); err != nil || got != c.Name || c.Doc == "" {
			t.Errorf("vocabulary entry %+v does not parse back (%v)", c, err)
		}
	}
}

// The OOB client's ID comes from the profile's Dex clients (the public one with the out-of-band redirect), not
// from a name written into the tiers.
func TestOOBClientIDFromTheProfile(t *testing.T) {
	d, _ := Get("deploykf")
	if got := d.OOBClientID(); got != "kubeflow-pipelines-sdk" {
		t.Errorf("deploykf: %q", got)
	}
	k, _ := Get("kubeflow")
	if got := k.OOBClientID(); got != "" {
		t.Errorf("kubeflow offers no OOB client, got %q", got)
	}
}
