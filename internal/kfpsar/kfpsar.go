// Package kfpsar is the SubjectAccessReview the Kubeflow Pipelines API server sends to decide a request
// (backend/src/apiserver/client/subject_access_review.go, common/const.go): spec.user only, no groups, for the
// group pipelines.kubeflow.org at version v1beta1. The checks ask a cluster exactly KFP's question through it,
// and the KFP stand-in uses it as its Kubernetes authorizer; it is neither a mock nor part of one.
package kfpsar

import (
	"context"
	"fmt"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// RBAC attributes the API server puts in every SubjectAccessReview (common/const.go).
const (
	RBACGroup   = "pipelines.kubeflow.org"
	RBACVersion = "v1beta1"
)

// callTimeout bounds each SubjectAccessReview; past it the call is a timeout, which KFP's IsAuthorized reports
// as 503 Unavailable.
const callTimeout = 10 * time.Second

// ResourceAttributes is the part of authorization.k8s.io/v1 ResourceAttributes the API server fills in.
type ResourceAttributes struct{ Namespace, Verb, Group, Version, Resource, Subresource, Name string }

// Printed is the generated String() of k8s.io/api ResourceAttributes as "%+v" prints it in KFP's messages.
// withSelectors adds the FieldSelector and LabelSelector fields that k8s.io/api v0.31 and later print.
func (a ResourceAttributes) Printed(withSelectors bool) string {
	s := fmt.Sprintf("&ResourceAttributes{Namespace:%s,Verb:%s,Group:%s,Version:%s,Resource:%s,Subresource:%s,Name:%s,",
		a.Namespace, a.Verb, a.Group, a.Version, a.Resource, a.Subresource, a.Name)
	if withSelectors {
		s += "FieldSelector:nil,LabelSelector:nil,"
	}
	return s + "}"
}

// Spec is the SubjectAccessReview spec KFP creates for user and a: spec.user and the resource attributes, no
// groups, so a binding to a group (system:serviceaccounts, system:authenticated) never applies.
func Spec(user string, a ResourceAttributes) authzv1.SubjectAccessReviewSpec {
	return authzv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: &authzv1.ResourceAttributes{
		Namespace: a.Namespace, Verb: a.Verb, Group: a.Group, Version: a.Version, Resource: a.Resource,
		Subresource: a.Subresource, Name: a.Name}}
}

// KubeAuthorizer is the real server's SubjectAccessReview client: Spec created through the Kubernetes API.
type KubeAuthorizer struct{ Client kubernetes.Interface }

// Authorize creates the SubjectAccessReview and returns status.allowed and status.reason (which RBAC leaves
// empty on a denial).
func (k KubeAuthorizer) Authorize(ctx context.Context, user string, a ResourceAttributes) (bool, string, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := k.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx,
		&authzv1.SubjectAccessReview{Spec: Spec(user, a)}, metav1.CreateOptions{})
	if err != nil {
		return false, "", err
	}
	return out.Status.Allowed, out.Status.Reason, nil
}
