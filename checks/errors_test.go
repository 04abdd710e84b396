package checks

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// TestReasonOfKubernetesErrors: a Kubernetes API refusal, wrapped or not, gets the reason a user acts on.
func TestReasonOfKubernetesErrors(t *testing.T) {
	pods := schema.GroupResource{Resource: "pods"}
	for _, c := range []struct {
		err  error
		want result.Reason
	}{
		{apierrors.NewForbidden(pods, "p", errors.New("no")), result.K8sRBAC},
		{apierrors.NewUnauthorized("who"), result.K8sRBAC},
		{fmt.Errorf("listing: %w", apierrors.NewNotFound(pods, "p")), result.ConfigError},
		{apierrors.NewBadRequest("bad"), result.ConfigError},
		{apierrors.NewTimeoutError("slow", 1), result.Timeout},
		{apierrors.NewInternalError(errors.New("etcd")), result.ServerError},
	} {
		if got := reasonOf(c.err); got != c.want {
			t.Errorf("%v: %s, want %s", c.err, got, c.want)
		}
	}
}
