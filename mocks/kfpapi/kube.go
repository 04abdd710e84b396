package kfpapi

import (
	"context"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kfp-authcheck/kfp-authcheck/internal/kfpsar"
)

// kubeCallTimeout bounds each TokenReview; past it the call is a timeout, which IsAuthorized reports as 503
// Unavailable.
const kubeCallTimeout = 10 * time.Second

// KubeTokenReviewer is the TokenReview client of the real server (client/token_review.go): a TokenReview created
// through the Kubernetes API.
type KubeTokenReviewer struct{ Client kubernetes.Interface }

// Review implements TokenReviewer.
func (k KubeTokenReviewer) Review(ctx context.Context, token string, audiences []string) (TokenReview, error) {
	ctx, cancel := context.WithTimeout(ctx, kubeCallTimeout)
	defer cancel()
	out, err := k.Client.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{
		Spec: authnv1.TokenReviewSpec{Token: token, Audiences: audiences}}, metav1.CreateOptions{})
	if err != nil {
		return TokenReview{}, err
	}
	return TokenReview{Authenticated: out.Status.Authenticated, User: out.Status.User.Username,
		Audiences: out.Status.Audiences, Error: out.Status.Error}, nil
}

// KubeAuthorizer is the real server's SubjectAccessReview (client/subject_access_review.go), kfpsar's.
type KubeAuthorizer = kfpsar.KubeAuthorizer
