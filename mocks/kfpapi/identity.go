package kfpapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/kfp-authcheck/kfp-authcheck/mocks/mutate"
)

// identityHeaderMissing is auth.IdentityHeaderMissingError; its Error() repeats the message, as
// util.NewUnauthenticatedError(errors.New(msg), msg) does.
var identityHeaderMissing = newUnauthenticatedError(
	"Request header error: there is no user identity header.",
	"Request header error: there is no user identity header.")

// singlePrefixedHeader is auth.singlePrefixedHeaderFromMetadata. grpc-gateway puts one metadata value per
// header line, so two header lines are two values.
func singlePrefixedHeader(r *http.Request, header, prefix string) (string, *userError) {
	values := r.Header.Values(header)
	if len(values) == 0 {
		return "", identityHeaderMissing
	}
	if len(values) != 1 {
		return "", newBadRequestError(fmt.Sprintf("Request header error: unexpected number of '%s' headers. Expect 1 got %d", header, len(values)))
	}
	if !strings.HasPrefix(values[0], prefix) {
		return "", newBadRequestError(fmt.Sprintf("Header '%s' is incorrectly formatted. Expected prefix '%s'", header, prefix))
	}
	return strings.TrimPrefix(values[0], prefix), nil
}

// headerIdentity is HTTPHeaderAuthenticator.
func (s *Server) headerIdentity(r *http.Request) (string, *userError) {
	return singlePrefixedHeader(r, s.cfg.UserIDHeader, s.cfg.UserIDPrefix)
}

// tokenIdentity is TokenReviewAuthenticator on "Authorization: Bearer <token>".
func (s *Server) tokenIdentity(r *http.Request) (string, *userError) {
	token, uerr := singlePrefixedHeader(r, "Authorization", "Bearer ")
	if uerr != nil {
		return "", uerr
	}
	if s.cfg.TokenReviewer == nil {
		return "", newUnauthenticatedError("no TokenReview client in the stand-in", "Request header error: Failed to review the token provided").
			wrap("Authentication failure")
	}
	audiences := []string{s.cfg.TokenReviewAudience}
	if mutate.On(mutate.KFPNoAudience) {
		audiences = nil
	}
	review, err := s.cfg.TokenReviewer.Review(r.Context(), token, audiences)
	if err != nil {
		return "", newUnauthenticatedError(err.Error(), "Request header error: Failed to review the token provided").wrap("Authentication failure")
	}
	if !review.Authenticated {
		return "", newUnauthenticatedError("Failed to authenticate token review", "Review.Status.Authenticated is false. Error "+review.Error).
			wrap("Authentication failure")
	}
	// ensureAudience: every configured audience must be among status.audiences.
	for _, want := range audiences {
		if !slices.Contains(review.Audiences, want) {
			return "", newUnauthenticatedError("Failed to authenticate token review",
				fmt.Sprintf("Failed to find all of '%v' in audience: %v", audiences, review.Audiences)).wrap("Authentication failure")
		}
	}
	return review.User, nil
}

// isAuthorized is ResourceManager.IsAuthorized: the authenticators in order (first success wins), then the
// SubjectAccessReview. Callers skip it outside multi-user mode. attrs must be complete.
func (s *Server) isAuthorized(r *http.Request, attrs ResourceAttributes) *userError {
	var failures []string
	user := ""
	for _, authenticate := range []func(*http.Request) (string, *userError){s.headerIdentity, s.tokenIdentity} {
		identity, uerr := authenticate(r)
		if uerr == nil {
			user = identity
			break
		}
		failures = append(failures, uerr.chain)
	}
	if user == "" && mutate.On(mutate.KFPAnonymous) {
		return nil
	}
	if user == "" {
		return newUnauthenticatedError(aggregate(failures), "Failed to check authorization. User identity is empty in the request header")
	}
	request := attrs.Printed(s.cfg.ErrorFormat == ErrorFormatV2)
	if mutate.On(mutate.KFPAllowAll) {
		return nil
	}
	if mutate.On(mutate.KFPCacheAuthz) && s.cachedAllow(user, attrs) {
		return nil
	}
	allowed, reason, err := s.cfg.Authorizer.Authorize(r.Context(), user, attrs)
	if allowed && err == nil && mutate.On(mutate.KFPCacheAuthz) {
		s.rememberAllow(user, attrs)
	}
	if err != nil {
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			return newUnavailableServerError(err.Error(), fmt.Sprintf("Failed to create SubjectAccessReview for user '%s' (request: %s) - try again later", user, request))
		}
		return newInternalServerError(err.Error(), fmt.Sprintf("Failed to create SubjectAccessReview for user '%s' (request: %s)", user, request))
	}
	if !allowed {
		return newPermissionDeniedError(fmt.Sprintf("User '%s' is not authorized with reason: %s (request: %s)", user, reason, request))
	}
	return nil
}

// pipelinesAttributes completes attributes for a KFP resource.
func pipelinesAttributes(resource, verb, namespace, name string) ResourceAttributes {
	return ResourceAttributes{Namespace: namespace, Verb: verb, Group: RBACGroup, Version: RBACVersion, Resource: resource, Name: name}
}

// authzCache is the KFPCacheAuthz mutation's memory of allowed decisions (never expired: the bug).
var authzCache sync.Map

func (s *Server) cachedAllow(user string, attrs ResourceAttributes) bool {
	_, ok := authzCache.Load(fmt.Sprintf("%p|%s|%+v", s, user, attrs))
	return ok
}

func (s *Server) rememberAllow(user string, attrs ResourceAttributes) {
	authzCache.Store(fmt.Sprintf("%p|%s|%+v", s, user, attrs), true)
}
