package checks

import (
	"context"
	"fmt"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/profile"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// Detection is how profile auto chose: the gateway's unauthenticated answers, classified the way SETUP-001
// classifies them, and the built-in profiles whose expectations match.
type Detection struct {
	// UIClass is the class of the unauthenticated browser answer (redirect, sign-in-page, unauthorized, open).
	UIClass  string
	UIStatus int
	// APIStatus is the status of an unauthenticated API request with Accept: application/json.
	APIStatus int
	HTTPS     bool
	// Candidates are the profiles whose expectations match the answers, before the scheme broke a tie.
	Candidates []string
	// Chosen is the profile picked; nil when none matched or a tie remained, and the run records behaviour only.
	Chosen *profile.Profile
}

// Describe says in one line what was seen and what was chosen, for the operator.
func (d *Detection) Describe() string {
	seen := fmt.Sprintf("unauthenticated UI: %s (%d), API: %d, scheme %s", d.UIClass, d.UIStatus, d.APIStatus,
		map[bool]string{true: "https", false: "http"}[d.HTTPS])
	switch {
	case d.Chosen != nil && len(d.Candidates) > 1:
		return fmt.Sprintf("profile auto chose %s (%s; %s all match: name the release with --profile)", d.Chosen.Name, seen, strings.Join(d.Candidates, ", "))
	case d.Chosen != nil:
		return fmt.Sprintf("profile auto chose %s (%s)", d.Chosen.Name, seen)
	case len(d.Candidates) > 1:
		return fmt.Sprintf("profile auto: %s all match (%s); comparing against none", strings.Join(d.Candidates, ", "), seen)
	default:
		return fmt.Sprintf("profile auto: no built-in profile expects these answers (%s); comparing against none", seen)
	}
}

// DetectProfile asks the gateway the two unauthenticated questions SETUP-001 asks and picks the built-in profile
// whose expectations (expect.unauthenticated, expect.api_unauthenticated_status) match; where several do, the one
// whose scheme (https) matches the gateway's wins. It only reads: two GETs, no login.
func DetectProfile(ctx context.Context, t *target.Target) (*Detection, error) {
	env := NewEnv(t)
	ui, err := unauthenticatedProbe(ctx, env, t.PipelineURL+"/", "text/html")
	if err != nil {
		return nil, fmt.Errorf("profile auto: GET %s/: %w", t.PipelineURL, err)
	}
	api, err := unauthenticatedProbe(ctx, env, t.PipelineURL+"/apis/v2beta1/experiments?namespace="+probeNamespace(t), "application/json")
	if err != nil {
		return nil, fmt.Errorf("profile auto: GET %s/apis/v2beta1/experiments: %w", t.PipelineURL, err)
	}
	d := &Detection{UIClass: ui.class, UIStatus: ui.status, APIStatus: api.status,
		HTTPS: strings.HasPrefix(t.GatewayURL, "https://")}
	var matched []*profile.Profile
	for _, name := range profile.Names() {
		p, err := profile.Get(name)
		if err != nil {
			return nil, err
		}
		if p.Expect.Unauthenticated == d.UIClass && p.Expect.APIUnauthenticatedStatus == d.APIStatus {
			matched = append(matched, p)
			d.Candidates = append(d.Candidates, p.Name)
		}
	}
	if len(matched) > 1 {
		var sameScheme []*profile.Profile
		for _, p := range matched {
			if p.HTTPS == d.HTTPS {
				sameScheme = append(sameScheme, p)
			}
		}
		matched = sameScheme
	}
	if len(matched) == 1 {
		d.Chosen = matched[0]
	}
	// The Kubeflow releases since 1.9 answer alike without a login: where they alone remain, the alias of the
	// newest stands for them (Describe names the others; --profile names the release).
	if len(matched) > 1 {
		for alias, newest := range profile.Aliases() {
			all := true
			for _, p := range matched {
				all = all && strings.HasPrefix(p.Name, alias+"-")
			}
			for _, p := range matched {
				if all && p.Name == newest {
					d.Chosen, _ = profile.Get(alias)
				}
			}
		}
	}
	return d, nil
}

// Planned is what a run would do with one check, decided without touching the target.
type Planned struct {
	Check *Check
	// Runs is false where the result would be n/a; Reason and Why are the n/a's, as the run reports them.
	Runs   bool
	Reason result.Reason
	Why    string
	// Expected is what a conforming deployment of the target's profile gets (ExpectedStatus).
	Expected string
}

// Plan decides, from the target's capabilities alone, which checks would run and which would be n/a and why.
func Plan(t *target.Target, list []*Check) []Planned {
	env := NewEnv(t)
	out := make([]Planned, 0, len(list))
	for _, c := range list {
		p := Planned{Check: c, Runs: true, Expected: string(ExpectedStatus(t, c))}
		missing, na := env.gate(c)
		switch {
		case len(missing) > 0:
			p.Runs, p.Reason, p.Why = false, result.MissingCapability, env.naReason(missing)
		case na != nil:
			p.Runs, p.Reason, p.Why = false, na.Reason, na.Message
		}
		out = append(out, p)
	}
	return out
}
