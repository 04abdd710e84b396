package checks

import (
	"net/http"
	"strings"
	"testing"
)

// TestSessionCookieProblem: DEX-LOCAL-005's judgement of a collected session cookie: whole and sent back, a part
// missing from a split, a part (or the unsplit cookie) the API's requests do not carry.
func TestSessionCookieProblem(t *testing.T) {
	c := func(names ...string) []*http.Cookie {
		var out []*http.Cookie
		for _, n := range names {
			out = append(out, &http.Cookie{Name: n, Value: "v"})
		}
		return out
	}
	for _, tc := range []struct {
		name            string
		collected, sent []*http.Cookie
		want            string // "" or a part of the problem
	}{
		{"one cookie, sent", c("oauth2_proxy_kubeflow"), c("oauth2_proxy_kubeflow"), ""},
		{"split, every part sent", c("s_0", "s_1", "s_2"), c("s_0", "s_1", "s_2"), ""},
		{"split, a part missing", c("s_0", "s_2"), c("s_0", "s_2"), "part _1 is missing"},
		{"split, a part not sent", c("s_0", "s_1"), c("s_0"), "s_1 is not sent"},
		{"the profile's cookie not sent", c("oauth2_proxy_kubeflow"), nil, "oauth2_proxy_kubeflow is not sent"},
		{"another cookie not sent is no problem", c("oauth2_proxy_kubeflow", "ui_pref"), c("oauth2_proxy_kubeflow"), ""},
	} {
		got := sessionCookieProblem(tc.collected, tc.sent, "oauth2_proxy_kubeflow")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
