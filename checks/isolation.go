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
	register(&Check{ID: "ISO-001", Family: "ISO", Severity: Must, Needs: []target.Capability{target.CapMultiUser, target.CapInCluster},
		Title:      "a forged kubeflow-userid sent straight to the in-cluster API (and ml-pipeline-ui), with no token, is refused",
		References: []string{"kubeflow#6702", "pipelines PR#7032", "pipelines#6228", "pipelines#4440"},
		Applies:    namesOwner,
		Run:        checkForgedHeaderInCluster})
	register(&Check{ID: "ISO-007", Family: "ISO", Severity: Must, Applies: meantMultiUser,
		Title:      "no credential from outside gives 401/302/403 on every /pipeline/apis path, never 200",
		References: []string{"tsunami#421", "security-testbeds#116", "canonical#579"},
		Run:        checkNoCredentialAnywhere})
}

// rawGet sends one GET with the given headers and returns the status and a bounded body excerpt.
func rawGet(ctx context.Context, env *Env, url string, header http.Header) (int, string, error) {
	status, _, body, err := rawGetHeaders(ctx, env, url, header)
	return status, body, err
}

// rawGetHeaders is rawGet that also returns the response headers.
func rawGetHeaders(ctx context.Context, env *Env, url string, header http.Header) (int, http.Header, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, "", err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := env.HTTPClient().Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, resp.Header, string(b), nil
}

// namesOwner is ISO-001's Applies: it impersonates a user of the target who owns a namespace.
func namesOwner(t *target.Target) *Inapplicable {
	for _, u := range t.Users {
		if u.Namespace != "" {
			return nil
		}
	}
	return &Inapplicable{Reason: result.MissingCapability, Message: "the target names no user with a namespace to impersonate"}
}

// checkForgedHeaderInCluster is ISO-001: the KFP API server trusts kubeflow-userid from anyone; only the mesh
// policy in front of it (Kubeflow 1.9's AuthorizationPolicy on ml-pipeline) stops a pod from claiming to be the
// namespace owner.
func checkForgedHeaderInCluster(ctx context.Context, env *Env) result.Result {
	t := env.Target
	owner, ns := "", probeNamespace(t)
	for _, u := range t.Users {
		if u.Namespace != "" {
			owner, ns = u.Email, u.Namespace
			break
		}
	}
	header := "kubeflow-userid"
	if t.Profile != nil && t.Profile.KFP.UserIDHeader != "" {
		header = t.Profile.KFP.UserIDHeader
	}
	// ml-pipeline, and ml-pipeline-ui where the target names it (the UI proxies /apis/ with the caller's headers).
	addresses := []struct{ name, base string }{{"ml-pipeline", t.InClusterAPIURL}}
	if t.InClusterUIURL != "" {
		addresses = append(addresses, struct{ name, base string }{"ml-pipeline-ui", t.InClusterUIURL})
	}
	const want = "403 (RBAC: access denied) or 401 at each in-cluster address"
	var seen []string
	for _, a := range addresses {
		url := a.base + "/apis/v2beta1/experiments?namespace=" + ns
		status, body, err := rawGet(ctx, env, url, http.Header{http.CanonicalHeaderKey(header): {owner}})
		if err != nil {
			return errorf(reasonOf(err), "GET %s: %v", url, err)
		}
		seen = append(seen, fmt.Sprintf("%s: %d %s", a.name, status, firstLine(env.Target.Redactor, strings.TrimSpace(body))))
		actual := strings.Join(seen, "; ")
		switch {
		case status == http.StatusOK:
			return expecting(fail(result.Unsecured, "%s accepted a forged %s of the namespace owner: any pod can act as any user", a.name, header), want, actual)
		case status != http.StatusForbidden && status != http.StatusUnauthorized:
			return expecting(fail(result.UnexpectedResponse, "a forged identity header at %s got %d", a.name, status), want, actual)
		}
	}
	return expecting(pass("the forged header is refused at %d in-cluster address(es)", len(addresses)), want, strings.Join(seen, "; "))
}

// meantMultiUser is ISO-007's Applies: the description (the server profile the deployment is meant to follow)
// says multi-user. It does not ask for the multi-user capability, which is what the target offers: a deployment
// meant to be multi-user that came up without its gateway, or with KFP in single-user mode, is the case ISO-007
// exists for, and it must run there (and fail when anything answers 200), not be n/a.
func meantMultiUser(t *target.Target) *Inapplicable {
	if na := hasGateway(t); na != nil {
		return na // nothing to send the unauthenticated requests to
	}
	if t.Profile == nil || !t.Profile.MultiUser {
		return &Inapplicable{Reason: result.MissingCapability, Message: "the server profile is single-user: there is no isolation to hold"}
	}
	return nil
}

// checkNoCredentialAnywhere is ISO-007: the list endpoints of both API versions, through the pipeline URL, with
// no cookie and no token.
func checkNoCredentialAnywhere(ctx context.Context, env *Env) result.Result {
	ns := probeNamespace(env.Target)
	paths := []string{
		"/apis/v2beta1/experiments?namespace=" + ns, "/apis/v2beta1/runs?namespace=" + ns,
		"/apis/v2beta1/pipelines?namespace=" + ns, "/apis/v2beta1/recurringruns?namespace=" + ns,
		"/apis/v1beta1/experiments?resource_reference_key.type=NAMESPACE&resource_reference_key.id=" + ns,
		"/apis/v1beta1/runs?resource_reference_key.type=NAMESPACE&resource_reference_key.id=" + ns,
		"/apis/v1beta1/pipelines", "/apis/v1beta1/jobs",
	}
	var open, odd, seen []string
	for _, p := range paths {
		status, _, err := rawGet(ctx, env, env.Target.PipelineURL+p, http.Header{"Accept": {"application/json"}})
		if err != nil {
			return errorf(reasonOf(err), "GET %s: %v", p, err)
		}
		seen = append(seen, fmt.Sprintf("%s %d", strings.SplitN(p, "?", 2)[0], status))
		switch status {
		case http.StatusOK:
			open = append(open, p)
		case http.StatusUnauthorized, http.StatusFound, http.StatusForbidden, http.StatusSeeOther:
		default:
			odd = append(odd, fmt.Sprintf("%s %d", p, status))
		}
	}
	actual := strings.Join(seen, "; ")
	const want = "401, 302 or 403 on every path"
	switch {
	case len(open) > 0:
		return expecting(fail(result.Unsecured, "answered 200 without credentials: %s", strings.Join(open, ", ")), want, actual)
	case len(odd) > 0:
		return expecting(warn(result.UnexpectedResponse, "refused, but not with 401/302/403: %s", strings.Join(odd, ", ")), want, actual)
	}
	return expecting(pass("every path refused without credentials"), want, actual)
}
