package kfpapi

import (
	"context"
	"slices"
	"strings"

	"github.com/kfp-authcheck/kfp-authcheck/internal/kfpsar"
)

// RBAC attributes the API server puts in every SubjectAccessReview (common/const.go); see kfpsar.
const (
	RBACGroup   = kfpsar.RBACGroup
	RBACVersion = kfpsar.RBACVersion
)

// ResourceAttributes is kfpsar.ResourceAttributes, what the API server puts in a SubjectAccessReview.
type ResourceAttributes = kfpsar.ResourceAttributes

// Authorizer decides a request, as the SubjectAccessReview the real server creates with only spec.user set
// (no groups). reason is SAR status.reason, which RBAC leaves empty on a denial.
type Authorizer interface {
	Authorize(ctx context.Context, user string, attrs ResourceAttributes) (allowed bool, reason string, err error)
}

// ProfileAuthorizer allows a user every KFP verb in the namespaces whose Kubeflow Profile makes them owner or
// contributor. As the profile controller binds the profile's default-editor service account to kubeflow-edit,
// system:serviceaccount:<ns>:default-editor is allowed in each listed namespace too.
type ProfileAuthorizer struct{ Members map[string][]string } // namespace -> emails (owner and contributors)

// Authorize implements Authorizer. A denial carries an empty reason, as RBAC's does.
func (p ProfileAuthorizer) Authorize(_ context.Context, user string, attrs ResourceAttributes) (bool, string, error) {
	if attrs.Group != RBACGroup || attrs.Namespace == "" {
		return false, "", nil
	}
	members, ok := p.Members[attrs.Namespace]
	if !ok {
		return false, "", nil
	}
	if user == "system:serviceaccount:"+attrs.Namespace+":default-editor" {
		return true, "", nil
	}
	return slices.ContainsFunc(members, func(m string) bool { return strings.EqualFold(m, user) }), "", nil
}

// TokenReview is the status of an authentication.k8s.io/v1 TokenReview, as far as the API server reads it.
type TokenReview struct {
	Authenticated bool
	User          string   // status.user.username
	Audiences     []string // status.audiences
	Error         string   // status.error
}

// TokenReviewer is the TokenReview seam of the bearer-token authenticator: it creates a TokenReview for token
// with spec.audiences and returns the status; err is a failed call. A nil TokenReviewer behaves as a
// TokenReview call that fails, so bearer tokens never authenticate.
type TokenReviewer interface {
	Review(ctx context.Context, token string, audiences []string) (TokenReview, error)
}
