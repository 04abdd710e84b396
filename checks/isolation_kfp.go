package checks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kfp-authcheck/kfp-authcheck/auth/satoken"
	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/kfpsar"
	"github.com/kfp-authcheck/kfp-authcheck/kfpapi"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

// runNeeds are the ServiceAccount checks that also create pipeline runs.
var runNeeds = append([]target.Capability{target.CapRuns}, saNeeds...)

func init() {
	register(&Check{ID: "ISO-004", Family: "ISO", Severity: Must, Needs: runNeeds,
		Title:      "ns-1's private pipelines are not listable or readable from ns-2, and a run in ns-2 cannot use ns-1's pipeline ID",
		References: []string{"pipelines#8460", "pipelines#9074", "pipelines PR#14348", "pipelines PR#14352", "StatCan#1057"},
		Run:        checkPrivatePipelines})
	register(&Check{ID: "ISO-005", Family: "ISO", Severity: Must, Needs: runNeeds,
		Title:      "a run that names a non-default serviceAccountName is refused unless allow-listed and the caller may use it",
		References: []string{"pipelines PR#14181", "pipelines#14357"},
		Run:        checkRunServiceAccount})
	register(&Check{ID: "ISO-006", Family: "ISO", Severity: Must, Needs: runNeeds,
		Title:      "get, terminate, retry and archive of another namespace's run give 403",
		References: []string{"pipelines#9687", "dashboard#9"},
		Run:        checkForeignRunActions})
}

// namespaceClients are the in-cluster KFP clients of ns1's and ns2's default-editor (audience
// pipelines.kubeflow.org), the two tenants of an isolation check.
func (f *saFixture) namespaceClients(ctx context.Context) (c1, c2 *kfpapi.Client, err error) {
	tok1, err1 := f.token(ctx, f.ns1, "default-editor", []string{satoken.Audience}, time.Hour)
	tok2, err2 := f.token(ctx, f.ns2, "default-editor", []string{satoken.Audience}, time.Hour)
	if err := errors.Join(err1, err2); err != nil {
		return nil, nil, err
	}
	return f.env.inCluster(tok1), f.env.inCluster(tok2), nil
}

// withTenants runs body with the run's shared fixture and the in-cluster clients of its two tenants: the
// isolation checks create KFP objects in the namespaces and change nothing of the namespaces themselves.
func withTenants(ctx context.Context, env *Env, body func(f *saFixture, c1, c2 *kfpapi.Client) result.Result) result.Result {
	f, err := sharedSAFixture(ctx, env)
	if err != nil {
		return fixtureError(err)
	}
	defer f.cleanup()
	c1, c2, err := f.namespaceClients(ctx)
	if err != nil {
		return fixtureError(err)
	}
	return body(f, c1, c2)
}

// afterwards runs a cleanup call with its own deadline, so an interrupted check still removes its KFP objects.
func afterwards(fn func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = fn(ctx)
}

// ns1Run creates a one-step run in ns1 as ns1's default-editor, naming serviceAccount ("" for the namespace's
// default). A failed setup (the pipeline spec, the experiment) comes back as a result; the create's own error as
// err.
func ns1Run(ctx context.Context, f *saFixture, c1 *kfpapi.Client, serviceAccount string) (*kfpapi.Run, *result.Result, error) {
	spec, err := fixtures.NoopPipelineSpec()
	if err != nil {
		r := errorf(result.Internal, "%v", err)
		return nil, &r, nil
	}
	exp, err := c1.CreateExperiment(ctx, f.ns1, "kfp-authcheck-"+randomHex(4))
	if err != nil {
		r := errorf(reasonOf(err), "ns1's default-editor could not create an experiment: %v", err)
		return nil, &r, nil
	}
	run, err := c1.CreateRun(ctx, kfpapi.RunRequest{DisplayName: "kfp-authcheck-" + randomHex(4), ExperimentID: exp.ID,
		PipelineSpec: spec, ServiceAccount: serviceAccount})
	return run, nil, err
}

// removeRun terminates and deletes a run, with its own deadline.
func removeRun(c *kfpapi.Client, id string) {
	afterwards(func(ctx context.Context) error {
		_ = c.RunAction(ctx, id, "terminate")
		return c.DeleteRun(ctx, id)
	})
}

// refusedWith403 reports a step that must be refused: "" when it got 403, else what it got.
func refusedWith403(what string, err error) string {
	switch s := httpStatus(err); {
	case err == nil:
		return what + " succeeded"
	case s != http.StatusForbidden:
		return fmt.Sprintf("%s got %d, not 403", what, s)
	}
	return ""
}

// checkPrivatePipelines is ISO-004. ns1's default-editor uploads a private pipeline; ns2's default-editor must
// not list ns1's pipelines, see it among its own, read it, or create a run in ns2 from its ID (KFP before
// GHSA-v83x-544f-ph2r, pipelines PR#14348, authorized only the run's namespace and loaded the pipeline
// anyway). The shared-pipeline policy (what ns2 sees without a namespace) is recorded.
func checkPrivatePipelines(ctx context.Context, env *Env) result.Result {
	return withTenants(ctx, env, func(f *saFixture, c1, c2 *kfpapi.Client) result.Result {
		p, err := c1.UploadPipeline(ctx, f.ns1, "kfp-authcheck-private-"+randomHex(4), fixtures.NoopPipeline)
		if err != nil {
			return errorf(reasonOf(err), "ns1's default-editor could not upload a private pipeline: %v", err)
		}
		defer afterwards(func(ctx context.Context) error { return c1.DeletePipeline(ctx, p.ID) })
		exp, err := c2.CreateExperiment(ctx, f.ns2, "kfp-authcheck-"+randomHex(4))
		if err != nil {
			return errorf(reasonOf(err), "ns2's default-editor could not create an experiment in ns2: %v", err)
		}
		_, listErr := c2.ListPipelines(ctx, f.ns1)
		own, ownErr := c2.ListPipelines(ctx, f.ns2)
		_, getErr := c2.GetPipeline(ctx, p.ID)
		r, runErr := c2.CreateRun(ctx, kfpapi.RunRequest{DisplayName: "kfp-authcheck-" + randomHex(4), ExperimentID: exp.ID, PipelineID: p.ID})
		if runErr == nil {
			defer afterwards(func(ctx context.Context) error { return c2.DeleteRun(ctx, r.ID) })
		}
		shared, sharedErr := c2.ListPipelines(ctx, "")
		if r, bad := transportTrouble("in-cluster API", listErr, ownErr, getErr, runErr, sharedErr); bad {
			return r
		}
		policy := fmt.Sprintf("shared pipelines: listing without a namespace gives %d", httpStatus(sharedErr))
		if sharedErr == nil {
			policy += fmt.Sprintf(" (%d shared pipelines, readable by every authenticated identity)", len(shared))
		}
		actual := fmt.Sprintf("list ns1: %d; list ns2: %d; get ns1's pipeline: %d; run in ns2 from ns1's pipeline: %d; %s",
			httpStatus(listErr), httpStatus(ownErr), httpStatus(getErr), httpStatus(runErr), policy)
		const want = "list ns1 403; ns2's list without ns1's pipeline; get 403; run 403 (or 400 for a namespace mismatch)"
		if ownErr != nil {
			return expecting(failFromError("ns2 listing its own pipelines", ownErr), want, actual)
		}
		var leaks []string
		for _, q := range own {
			if q.ID == p.ID {
				leaks = append(leaks, "ns1's pipeline is listed in ns2")
			}
		}
		for _, l := range []string{refusedWith403("listing ns1's pipelines", listErr), refusedWith403("reading ns1's pipeline", getErr)} {
			if l != "" {
				leaks = append(leaks, l)
			}
		}
		if s := httpStatus(runErr); runErr != nil && s != http.StatusForbidden && s != http.StatusBadRequest {
			leaks = append(leaks, fmt.Sprintf("the run from ns1's pipeline got %d, not 403", s))
		}
		if len(leaks) > 0 {
			reason := result.Unsecured
			if listErr != nil && getErr != nil && runErr != nil {
				reason = result.UnexpectedResponse
			}
			return expecting(fail(reason, "%s", strings.Join(leaks, "; ")), want, actual)
		}
		if runErr == nil {
			// Every KFP release up to the fix does this; it is reported as the known gap it is, not as a broken
			// deployment of that release. Where the server profile's KFP has the fix, it is a failure.
			if p := env.Target.Profile; p != nil && p.KFP.AuthorizePipelineReferences {
				return expecting(fail(result.Unsecured, "a run in ns2 was created from ns1's private pipeline ID, although "+
					"profile %s's KFP authorizes pipeline references (the GHSA-v83x-544f-ph2r fix, pipelines PR#14348). %s", p.Name, policy), want, actual)
			}
			return expecting(warn(result.Unsecured, "ns1's private pipeline is invisible to ns2, but a run in ns2 was created from its ID: "+
				"KFP authorizes only the run's namespace before the GHSA-v83x-544f-ph2r fix (pipelines PR#14348); upgrade KFP. %s", policy), want, actual)
		}
		return expecting(pass("ns1's private pipeline is invisible to ns2 and cannot be run from it; %s", policy), want, actual)
	})
}

// checkForeignRunActions is ISO-006. ns1's default-editor creates a run in ns1; ns2's default-editor must get 403
// for reading it and for terminate, retry and archive. ns1's own archive then succeeds, so the refusals are
// authorization, not a missing run. KFAM's add-contributor is not checked: the target names no KFAM address.
func checkForeignRunActions(ctx context.Context, env *Env) result.Result {
	return withTenants(ctx, env, func(f *saFixture, c1, c2 *kfpapi.Client) result.Result {
		r, setup, err := ns1Run(ctx, f, c1, "")
		if setup != nil {
			return *setup
		}
		if err != nil {
			return errorf(reasonOf(err), "ns1's default-editor could not create a run: %v", err)
		}
		defer removeRun(c1, r.ID)
		_, getErr := c2.GetRun(ctx, r.ID)
		errs := map[string]error{"get": getErr}
		seen := []string{fmt.Sprintf("get %d", httpStatus(getErr))}
		for _, action := range []string{"terminate", "retry", "archive"} {
			errs[action] = c2.RunAction(ctx, r.ID, action)
			seen = append(seen, fmt.Sprintf("%s %d", action, httpStatus(errs[action])))
		}
		ownErr := c1.RunAction(ctx, r.ID, "archive")
		seen = append(seen, fmt.Sprintf("ns1's own archive %d", httpStatus(ownErr)))
		if r, bad := transportTrouble("in-cluster API", getErr, errs["terminate"], errs["retry"], errs["archive"], ownErr); bad {
			return r
		}
		actual := strings.Join(seen, "; ")
		const want = "get, terminate, retry, archive from ns2: 403 each; ns1's own archive 200"
		var leaks []string
		for _, action := range []string{"get", "terminate", "retry", "archive"} {
			if l := refusedWith403(action+" of ns1's run from ns2", errs[action]); l != "" {
				leaks = append(leaks, l)
			}
		}
		if len(leaks) > 0 {
			return expecting(fail(result.Unsecured, "%s", strings.Join(leaks, "; ")), want, actual)
		}
		if ownErr != nil {
			return expecting(failFromError("ns1 archiving its own run", ownErr), want, actual)
		}
		return expecting(pass("every action on ns1's run from ns2 is refused with 403 (KFAM add-contributor not checked: the target names no KFAM address)"), want, actual)
	})
}

// runServiceAccount is the non-default ServiceAccount ISO-005 asks a run to use: one every Profile namespace
// has, which the namespace's default-editor has no "use" permission on.
const runServiceAccount = "default-viewer"

// checkRunServiceAccount is ISO-005 at the API: ns1's default-editor creates a run in ns1 that names ns1's
// default-viewer as its serviceAccountName. KFP before pipelines PR#14181 stores any name and has Argo run the
// pods as that ServiceAccount (a confused deputy: the caller picks an identity it was never granted); with the
// fix the name must be allow-listed and the caller must pass a SubjectAccessReview for "use". Refused (403, or
// 400) passes; accepted and stored is the known gap of those releases (warn); accepted but replaced by the
// default passes too. The bypass through an Argo manifest of a v1 pipeline (pipelines#14357) is not sent.
func checkRunServiceAccount(ctx context.Context, env *Env) result.Result {
	return withTenants(ctx, env, func(f *saFixture, c1, _ *kfpapi.Client) result.Result {
		r, setup, runErr := ns1Run(ctx, f, c1, runServiceAccount)
		if setup != nil {
			return *setup
		}
		const want = "the run refused (403, or 400), or its serviceAccountName replaced by the namespace's default"
		if runErr != nil {
			if res, bad := transportTrouble("in-cluster API", runErr); bad {
				return res
			}
			actual := fmt.Sprintf("create with serviceAccountName %s: %d", runServiceAccount, httpStatus(runErr))
			if s := httpStatus(runErr); s == http.StatusForbidden || s == http.StatusBadRequest {
				return expecting(pass("a run naming %s is refused with %d", runServiceAccount, s), want, actual)
			}
			return expecting(failFromError("creating the run", runErr), want, actual)
		}
		defer removeRun(c1, r.ID)
		got, err := c1.GetRun(ctx, r.ID)
		if err != nil {
			return errorf(reasonOf(err), "reading the run back: %v", err)
		}
		actual := fmt.Sprintf("create with serviceAccountName %s: 200; stored service_account %q", runServiceAccount, got.ServiceAccount)
		if got.ServiceAccount == runServiceAccount {
			// Legitimate where the caller may "use" the ServiceAccount (a fixed KFP with it allow-listed).
			mayUse, _, err := kfpsar.KubeAuthorizer{Client: env.Target.Kube}.Authorize(ctx, "system:serviceaccount:"+f.ns1+":default-editor",
				kfpsar.ResourceAttributes{Namespace: f.ns1, Verb: "use", Version: "v1", Resource: "serviceaccounts", Name: runServiceAccount})
			if err == nil && mayUse {
				return expecting(pass("a run naming %s was accepted; the caller may use that ServiceAccount", runServiceAccount), want, actual)
			}
			if p := env.Target.Profile; p != nil && p.KFP.AuthorizeServiceAccounts {
				return expecting(fail(result.Unsecured, "a run naming ServiceAccount %s was accepted and stored, although profile %s's "+
					"KFP refuses caller-chosen ServiceAccounts the caller may not use (pipelines PR#14181)", runServiceAccount, p.Name), want, actual)
			}
			return expecting(warn(result.Unsecured, "a run naming ServiceAccount %s was accepted and stored: KFP before pipelines PR#14181 "+
				"runs a run's pods as any ServiceAccount of the namespace the caller names, with no allow-list or \"use\" check; upgrade KFP",
				runServiceAccount), want, actual)
		}
		return expecting(pass("the run was accepted, but the server stored %q, not the caller's %s", got.ServiceAccount, runServiceAccount), want, actual)
	})
}
