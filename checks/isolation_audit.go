package checks

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kfp-authcheck/kfp-authcheck/fixtures"
	"github.com/kfp-authcheck/kfp-authcheck/internal/audit"
	"github.com/kfp-authcheck/kfp-authcheck/internal/kfpsar"
	"github.com/kfp-authcheck/kfp-authcheck/internal/timing"
	"github.com/kfp-authcheck/kfp-authcheck/result"
	"github.com/kfp-authcheck/kfp-authcheck/target"
)

func init() {
	register(&Check{ID: "ISO-009", Family: "ISO", Severity: Must, Needs: []target.Capability{target.CapMultiUser, target.CapKube},
		Title:      "no identity of one profile namespace can act on KFP's resources in another unless a KFAM binding says so",
		References: []string{"CHECKS.md additions", "website#2905", "pipelines#11436"},
		Run:        checkIsolationAudit})
}

// auditSample bounds ISO-009's share of the cluster: the isolation audit of the cluster's profile namespaces
// (kfp-authcheck audit does them all), and the SubjectAccessReviews that check it.
const (
	auditSampleNamespaces = 20
	auditSampleReviews    = 64
)

// checkIsolationAudit is ISO-009: the isolation audit (internal/audit) on a sample of the cluster's profile
// namespaces, with two of its own: their owners, one a KFAM contributor of the other's namespace, so that the
// audit must find one grant across namespaces and explain it. The run's other fixtures are left out (they
// bind across namespaces on purpose, and come and go while this check runs); a namespace of another tenant
// that grants KFP's resources to a foreign identity without a KFAM binding fails it.
func checkIsolationAudit(ctx context.Context, env *Env) result.Result {
	// The tenants are removed in the background once the check is done (the run's end waits for it).
	k := env.Fixtures().New()
	defer k.CleanupLater()
	ns1, ns2 := k.Name("tenant-a"), k.Name("tenant-b")
	owner1, owner2 := "kfp-authcheck-tenant-a@example.invalid", "kfp-authcheck-tenant-b@example.invalid"
	// The roles the Profiles' bindings name are the cluster's: a run never creates them (fixtureError reports a
	// missing one as the finding it is).
	if err := fixtures.RequireClusterRoles(ctx, env.Target.Kube, fixtureClusterRoles...); err != nil {
		return fixtureError(err)
	}
	if err := k.ApplyAll(ctx, fixtures.ProfileManifest(ns1, owner1), fixtures.ProfileManifest(ns2, owner2)); err != nil {
		return fixtureError(err)
	}
	if err := k.Contributor(ctx, ns2, owner1); err != nil {
		return fixtureError(err)
	}
	// The contributor binding was made last: once kube-apiserver's authorizer sees it, it sees the rest.
	probe := kfpsar.ResourceAttributes{Namespace: ns2, Verb: "create", Group: kfpsar.RBACGroup, Version: kfpsar.RBACVersion, Resource: "runs"}
	err := timing.Until(ctx, bindSettleTimeout, func(ctx context.Context) (bool, error) {
		ok, _, err := kfpsar.KubeAuthorizer{Client: env.Target.Kube}.Authorize(ctx, owner1, probe)
		return ok, err
	})
	if err != nil {
		return errorf(result.Unreachable, "the fixture's KFAM contributor binding never took effect in SubjectAccessReviews: %v", err)
	}
	mine := map[string]bool{ns1: true, ns2: true}
	a, err := audit.Audit(ctx, env.Target.Kube, audit.Options{
		Extra:         []string{ns1, ns2},
		Skip:          func(n *corev1.Namespace) bool { return n.Labels[fixtures.RunLabel] != "" && !mine[n.Name] },
		MaxNamespaces: auditSampleNamespaces,
		Samples:       auditSampleReviews,
	})
	if a == nil {
		return errorf(result.Unreachable, "the isolation audit could not read the cluster: %v", err)
	}
	r := audit.Result(a)
	if err != nil {
		return expecting(errorf(result.Unreachable, "the isolation audit: %v", err), r.Expected, r.Actual)
	}
	found := false
	for _, g := range a.Grants {
		found = found || (g.Identity == owner1 && g.Namespace == ns2 && g.Explained)
	}
	if !found && r.Status == result.Pass {
		r.Status, r.Reason = result.Error, result.Internal
		r.Message = fmt.Sprintf("the audit did not find the fixture's KFAM contributor %s in %s: it cannot see grants", owner1, ns2)
	}
	return r
}
