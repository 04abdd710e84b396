package checks

import (
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kfp-authcheck/kfp-authcheck/auth/browser"
	"github.com/kfp-authcheck/kfp-authcheck/auth/dexlogin"
	"github.com/kfp-authcheck/kfp-authcheck/internal/forward"
	"github.com/kfp-authcheck/kfp-authcheck/kfpapi"
	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// reasonOf maps any error from the flows to the stable reason code a user acts on.
func reasonOf(err error) result.Reason {
	var le *dexlogin.Error
	if errors.As(err, &le) && le.Reason != "" {
		return le.Reason
	}
	var ae *kfpapi.APIError
	if errors.As(err, &ae) {
		return apiReason(ae)
	}
	var fe *forward.Error
	if errors.As(err, &fe) {
		return fe.Reason
	}
	var ks apierrors.APIStatus
	if errors.As(err, &ks) {
		return kubeReason(err)
	}
	return browser.Classify(err)
}

// kubeReason classifies a Kubernetes API refusal.
func kubeReason(err error) result.Reason {
	switch {
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return result.K8sRBAC
	case apierrors.IsTimeout(err), apierrors.IsServerTimeout(err):
		return result.Timeout
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsNotFound(err):
		return result.ConfigError
	}
	return result.ServerError
}

// apiReason classifies a KFP API refusal (SDK-004's taxonomy).
func apiReason(ae *kfpapi.APIError) result.Reason {
	switch {
	case containsAny(ae.Message+ae.Body, "there is no user identity header", "User identity is empty"):
		return result.NoIdentity
	case containsAny(ae.Message+ae.Body, "is not authorized with reason"):
		return result.K8sRBAC
	case containsAny(ae.Body, "Jwt issuer is not configured"):
		return result.GatewayConfig
	case containsAny(ae.Body, "RBAC: access denied"):
		return result.MeshAuthz
	case ae.StatusCode == 401 || ae.StatusCode == 302 || ae.StatusCode == 403:
		return result.SessionNotAccepted
	case ae.StatusCode == 404:
		return result.VersionMismatch
	case ae.StatusCode >= 500:
		return result.ServerError
	}
	return result.UnexpectedResponse
}

// failFromError turns a flow error into a failed result, keeping the reason code. Transport-level problems
// (the target could not be asked at all) are errors, not failures of the method under test.
func failFromError(what string, err error) result.Result {
	reason := reasonOf(err)
	switch reason {
	case result.Unreachable, result.Timeout, result.TLSError:
		return errorf(reason, "%s: %v", what, err)
	}
	return fail(reason, "%s: %v", what, err)
}
