package checks

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func init() {
	register(&Check{ID: "ISO-008", Family: "ISO", Severity: Must,
		Needs:      []target.Capability{target.CapGateway, target.CapMultiUser, target.CapCookieSession, target.CapDexLocal},
		Title:      "an identity header sent by a logged-in client (another user's kubeflow-userid) does not reach KFP: KFP acts as the session's user",
		References: []string{"kubeflow#6702", "manifests#2747", "oauth2-proxy pass_user_headers", "Istio outputClaimToHeaders"},
		Applies:    ownsNamespace,
		Run:        checkIdentityHeaderSmuggling})
}

// smuggledIdentity is who the client claims to be when the target names nobody else: a user no namespace
// belongs to, so KFP acting as them is visible as a refusal of the session user's own namespace.
const smuggledIdentity = "kfp-authcheck-smuggled@example.invalid"

// ownsNamespace is ISO-008's Applies: the session's user must own a namespace to list, so that KFP acting as
// someone else shows.
func ownsNamespace(t *target.Target) *Inapplicable {
	for _, u := range t.UsersFor("local") {
		if u.Namespace != "" {
			return nil
		}
	}
	return &Inapplicable{Reason: result.MissingCapability, Message: "the target names no local user with a namespace to list"}
}

// checkIdentityHeaderSmuggling is ISO-008: with the first local user's session (and, where the gateway takes
// them, the same user's Dex token as a bearer), list that user's own namespace twice through the gateway: once
// as is, once with another user's identity header added by the client. A gateway that drops or overwrites the
// client's header gives the same 200 both times; one that lets it through makes KFP act as the other user, who
// may not list the namespace (403), and any logged-in user can then act as any other.
func checkIdentityHeaderSmuggling(ctx context.Context, env *Env) result.Result {
	t := env.Target
	var u target.User
	for _, c := range t.UsersFor("local") {
		if c.Namespace != "" {
			u = c
			break
		}
	}
	header, prefix := "kubeflow-userid", ""
	if t.Profile != nil && t.Profile.KFP.UserIDHeader != "" {
		header, prefix = t.Profile.KFP.UserIDHeader, t.Profile.KFP.UserIDPrefix
	}
	other := smuggledIdentity
	for _, c := range t.Users {
		if c.Email != "" && c.Email != u.Email && c.Namespace != "" && c.Namespace != u.Namespace {
			other = c.Email // a real other user, who owns another namespace
			break
		}
	}
	sess, b, err := env.SharedLogin(ctx, u)
	if err != nil {
		return withHistory(failFromError("login as "+u.Email, err), b)
	}
	url := t.PipelineURL + "/apis/v2beta1/experiments?namespace=" + u.Namespace
	const want = "200 for the session's own namespace with and without the client's identity header"
	var seen []string
	// probe lists the namespace with cred, then with cred and the smuggled header; ok=false carries the result.
	probe := func(what string, cred http.Header) (result.Result, bool, bool) {
		status, body, err := rawGet(ctx, env, url, cred)
		if err != nil {
			return errorf(reasonOf(err), "%s: GET %s: %v", what, url, err), false, false
		}
		seen = append(seen, fmt.Sprintf("%s: %d", what, status))
		if status != http.StatusOK {
			// The control: without it, a refusal below would prove nothing.
			seen[len(seen)-1] += " " + redactedLine(env, body)
			return result.Result{}, false, true
		}
		smuggled := cred.Clone()
		smuggled.Set(header, prefix+other)
		status, body, err = rawGet(ctx, env, url, smuggled)
		if err != nil {
			return errorf(reasonOf(err), "%s with %s: GET %s: %v", what, header, url, err), false, false
		}
		seen = append(seen, fmt.Sprintf("%s + %s: %s: %d %s", what, header, other, status, redactedLine(env, body)))
		actual := strings.Join(seen, "; ")
		switch {
		case status == http.StatusOK:
			return result.Result{}, true, false
		case status == http.StatusForbidden || status == http.StatusUnauthorized:
			return expecting(fail(result.Unsecured, "with %s, the gateway passed the client's own %s: %s to KFP, which acted as that user "+
				"and refused %s's namespace; any logged-in user can act as any other (drop or overwrite the header at the gateway)",
				what, header, other, u.Email), want, actual), false, false
		}
		return expecting(fail(result.UnexpectedResponse, "with %s and a client %s, the list got %d", what, header, status), want, actual), false, false
	}
	r, ok, noControl := probe("the session cookie", http.Header{"Cookie": {sess.CookieHeader()}, "Accept": {"application/json"}})
	switch {
	case noControl:
		return expecting(errorf(result.K8sRBAC, "%s cannot list their own namespace %s with the session cookie, so a smuggled header cannot be told apart",
			u.Email, u.Namespace), want, strings.Join(seen, "; "))
	case !ok:
		return r
	}
	tried := "the session cookie"
	if t.Has(target.CapOOBClient) {
		_, tok, _, err := env.oobLogin(ctx)
		if err != nil {
			seen = append(seen, "bearer: no Dex token from the OOB login ("+string(reasonOf(err))+")")
		} else {
			r, ok, noControl := probe("a Dex bearer token", http.Header{"Authorization": {"Bearer " + tok.IDToken}, "Accept": {"application/json"}})
			switch {
			case noControl:
				seen[len(seen)-1] += " (the gateway takes no Dex bearer here)"
			case !ok:
				return r
			default:
				tried += " and a Dex bearer token"
			}
		}
	}
	return expecting(pass("with %s, a client %s: %s did not reach KFP: it acted as %s", tried, header, other, u.Email), want, strings.Join(seen, "; "))
}
