package checks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func init() {
	register(&Check{
		ID: "SETUP-001", Family: "SETUP", Severity: Must,
		Title:      "the pipeline URL is reachable and its unauthenticated answer is classified",
		References: []string{"CHECKS.md additions", "manifests#2844", "deployKF PR#100"},
		Applies:    hasGateway,
		Run:        checkUnauthenticatedAnswer,
	})
	register(&Check{
		ID: "SETUP-002", Family: "SETUP", Severity: Must,
		Title:      "API version probe: v2beta1 and v1beta1 healthz",
		References: []string{"CHECKS.md additions", "pipelines#9940", "deployKF#177", "kubeflow#6327"},
		Applies:    canLogIn,
		Run:        checkAPIVersions,
	})
}

// Classes of unauthenticated answers (profile.Expect.Unauthenticated uses the same words).
const (
	classRedirect     = "redirect"
	classSignInPage   = "sign-in-page"
	classUnauthorized = "unauthorized"
	classOpen         = "open"
)

// probe is one unauthenticated request and how its answer was classified.
type probe struct {
	status   int
	location string
	class    string
	exchange result.Exchange
}

func unauthenticatedProbe(ctx context.Context, env *Env, url, accept string) (*probe, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	resp, err := env.HTTPClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
	if err != nil {
		// Headers without the body they announce (a stalled or cut answer) are no answer to classify: a 200
		// whose page never arrives is not an open UI.
		return nil, fmt.Errorf("status %d, but the body did not arrive: %w", resp.StatusCode, err)
	}
	p := &probe{status: resp.StatusCode, location: resp.Header.Get("Location")}
	p.exchange = result.Exchange{Method: http.MethodGet, URL: url, Status: resp.StatusCode, Location: p.location,
		Headers: map[string]string{"Content-Type": resp.Header.Get("Content-Type")}}
	switch {
	case resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther:
		p.class = classRedirect
	case resp.StatusCode == http.StatusForbidden && strings.Contains(string(body), "/start"):
		p.class = classSignInPage
	case resp.StatusCode == http.StatusUnauthorized:
		p.class = classUnauthorized
	case resp.StatusCode == http.StatusOK:
		p.class = classOpen
	default:
		p.class = fmt.Sprintf("status %d", resp.StatusCode)
	}
	return p, nil
}

// checkUnauthenticatedAnswer is SETUP-001: GET the pipeline UI and an API path with no credentials; classify
// both; 200 on a multi-user setup is UNSECURED.
func checkUnauthenticatedAnswer(ctx context.Context, env *Env) result.Result {
	t := env.Target
	ui, err := unauthenticatedProbe(ctx, env, t.PipelineURL+"/", "text/html")
	if err != nil {
		return errorf(reasonOf(err), "GET %s/: %v", t.PipelineURL, err)
	}
	api, err := unauthenticatedProbe(ctx, env, t.PipelineURL+"/apis/v2beta1/experiments?namespace="+probeNamespace(t), "application/json")
	if err != nil {
		return errorf(reasonOf(err), "GET %s/apis/v2beta1/experiments: %v", t.PipelineURL, err)
	}
	actual := fmt.Sprintf("UI: %s (%d); API: %d", ui.class, ui.status, api.status)
	evidence := []result.Exchange{ui.exchange, api.exchange}
	// A setup that should be multi-user (by its profile) but answers like standalone is the finding itself.
	multiUser := t.Has(target.CapMultiUser) || (t.Profile != nil && t.Profile.MultiUser)
	var res result.Result
	switch {
	case (ui.class == classOpen || api.status == http.StatusOK) && multiUser:
		res = fail(result.Unsecured, "the pipeline API answers 200 without any credentials on a multi-user setup")
	case ui.class == classOpen && !multiUser:
		res = warn(result.Unsecured, "KFP answers without any authentication: anyone who reaches it can use it")
	case t.Profile != nil && ui.class != t.Profile.Expect.Unauthenticated:
		res = fail(result.GatewayConfig, "the gateway answers unauthenticated browser requests with %s, profile %s expects %s",
			ui.class, t.Profile.Name, t.Profile.Expect.Unauthenticated)
	case t.Profile != nil && api.status != t.Profile.Expect.APIUnauthenticatedStatus:
		res = fail(result.GatewayConfig, "unauthenticated API requests get %d, profile %s expects %d",
			api.status, t.Profile.Name, t.Profile.Expect.APIUnauthenticatedStatus)
	case ui.class != classRedirect && ui.class != classSignInPage && ui.class != classUnauthorized:
		res = fail(result.UnclassifiedGatewayReply, "the unauthenticated answer is none of 302 to Dex, 403 sign-in page, 401 or 200")
	default:
		res = pass("unauthenticated requests are refused: %s", actual)
	}
	res.Evidence = evidence
	if t.Profile != nil {
		return expecting(res, fmt.Sprintf("UI: %s; API: %d", t.Profile.Expect.Unauthenticated, t.Profile.Expect.APIUnauthenticatedStatus), actual)
	}
	return expecting(res, "a refusal (302 to Dex, 403 sign-in page or 401)", actual)
}

// probeNamespace is a namespace to put in probe URLs: the first user's, or a placeholder.
func probeNamespace(t *target.Target) string {
	for _, u := range t.Users {
		if u.Namespace != "" {
			return u.Namespace
		}
	}
	return "kubeflow-user-example-com"
}

// canLogIn is SETUP-002's Applies: behind a gateway it logs in as the first local user.
func canLogIn(t *target.Target) *Inapplicable {
	if na := hasGateway(t); na != nil {
		return na
	}
	if t.Has(target.CapGateway) && len(t.UsersFor("local")) == 0 {
		return &Inapplicable{Reason: result.NoCredentials, Message: "the gateway needs a login and the target has no local user"}
	}
	return nil
}

// checkAPIVersions is SETUP-002: which of /apis/v2beta1/healthz and /apis/v1beta1/healthz the deployment serves
// through the pipeline URL, logged in where the gateway demands it.
func checkAPIVersions(ctx context.Context, env *Env) result.Result {
	t := env.Target
	api := env.API(nil)
	if t.Has(target.CapGateway) {
		u, err := env.FirstUser("local")
		if err != nil {
			return na(result.NoCredentials, "the gateway needs a login and %v", err)
		}
		s, err := env.SharedSession(ctx, u)
		if err != nil {
			return errorf(reasonOf(err), "could not log in to probe the API: %v", err)
		}
		api = env.API(s)
	}
	var served, missing, details []string
	for _, v := range []string{"v2beta1", "v1beta1"} {
		h, err := api.Healthz(ctx, v)
		if err != nil {
			if r := reasonOf(err); r == result.Unreachable || r == result.Timeout || r == result.TLSError {
				return errorf(r, "healthz %s: %v", v, err)
			}
			missing = append(missing, v)
			details = append(details, fmt.Sprintf("%s: %v", v, err))
			continue
		}
		served = append(served, v)
		details = append(details, fmt.Sprintf("%s: %s", v, h.Summary()))
	}
	want := []string{"v2beta1", "v1beta1"}
	if t.Profile != nil && len(t.Profile.Expect.APIVersions) > 0 {
		want = t.Profile.Expect.APIVersions
	}
	actual := "serves " + strings.Join(served, ", ")
	if len(served) == 0 {
		actual = "serves neither"
	}
	var res result.Result
	switch {
	case len(served) == 0:
		res = fail(result.VersionMismatch, "no healthz answered: %s", strings.Join(details, "; "))
	case len(missingOf(want, served)) > 0:
		res = fail(result.VersionMismatch, "the deployment does not serve %v; methods that need it will fail (%s)",
			missingOf(want, served), strings.Join(details, "; "))
	default:
		res = pass("%s (%s)", actual, strings.Join(details, "; "))
	}
	return expecting(res, "serves "+strings.Join(want, ", "), actual)
}

func missingOf(want, have []string) []string {
	var out []string
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			out = append(out, w)
		}
	}
	return out
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
