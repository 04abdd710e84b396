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
