package kfpapi

import (
	"fmt"
	"net/http"
	"strings"
)

// gRPC status codes used by the API server (google.golang.org/grpc/codes), kept local so the stand-in has no
// gRPC dependency.
const (
	codeInvalidArgument  = 3
	codeNotFound         = 5
	codeAlreadyExists    = 6
	codePermissionDenied = 7
	codeFailedPrecond    = 9
	codeAborted          = 10
	codeUnimplemented    = 12
	codeInternal         = 13
	codeUnavailable      = 14
	codeUnauthenticated  = 16
)

// httpStatusFromCode is grpc-gateway's HTTPStatusFromCode for the codes the stand-in produces.
func httpStatusFromCode(code int) int {
	switch code {
	case codeInvalidArgument, codeFailedPrecond:
		return http.StatusBadRequest
	case codeNotFound:
		return http.StatusNotFound
	case codeAlreadyExists, codeAborted:
		return http.StatusConflict
	case codePermissionDenied:
		return http.StatusForbidden
	case codeUnimplemented:
		return http.StatusNotImplemented
	case codeUnavailable:
		return http.StatusServiceUnavailable
	case codeUnauthenticated:
		return http.StatusUnauthorized
	default:
		return http.StatusInternalServerError
	}
}

// userError mirrors KFP's util.UserError: chain is the wrapped internal error (the gRPC status message, and so
// the top-level "message"), external is the message for clients (details[0].message). withDetail is false for
// errors raised by grpc-gateway itself, which carry no details.
type userError struct {
	code       int
	chain      string
	external   string
	withDetail bool
}

// wrap is util.Wrap: pkg/errors prefixes the message and keeps code and external message.
func (e *userError) wrap(msg string) *userError {
	return &userError{code: e.code, chain: msg + ": " + e.chain, external: e.external, withDetail: e.withDetail}
}

func (e *userError) wrapf(format string, a ...any) *userError {
	return e.wrap(fmt.Sprintf(format, a...))
}

// newInvalidInputError is util.NewInvalidInputError.
func newInvalidInputError(format string, a ...any) *userError {
	msg := fmt.Sprintf(format, a...)
	return &userError{code: codeInvalidArgument, chain: "Invalid input error: " + msg, external: msg, withDetail: true}
}

// newInvalidInputErrorWithDetails is util.NewInvalidInputErrorWithDetails.
func newInvalidInputErrorWithDetails(cause, external string) *userError {
	return &userError{code: codeInvalidArgument, chain: "InvalidInputError: " + external + ": " + cause, external: external, withDetail: true}
}

// newFailedPreconditionError is util.NewFailedPreconditionError with the same text as cause and message.
func newFailedPreconditionError(msg string) *userError {
	return &userError{code: codeFailedPrecond, chain: "FailedPreconditionError: " + msg + ": " + msg, external: msg, withDetail: true}
}

// newBadRequestError is util.NewBadRequestError with the same text as cause and external message.
func newBadRequestError(msg string) *userError {
	return &userError{code: codeAborted, chain: "BadRequestError: " + msg + ": " + msg, external: msg, withDetail: true}
}

// newUnauthenticatedError is util.NewUnauthenticatedError; an empty cause is the nil-cause case.
func newUnauthenticatedError(cause, external string) *userError {
	chain := "Unauthenticated: " + external
	if cause != "" {
		chain += ": " + cause
	}
	return &userError{code: codeUnauthenticated, chain: chain, external: external, withDetail: true}
}

// newPermissionDeniedError is util.NewPermissionDeniedError(errors.New("Unauthorized access"), ...).
func newPermissionDeniedError(external string) *userError {
	return &userError{code: codePermissionDenied, chain: "PermissionDenied: " + external + ": Unauthorized access", external: external, withDetail: true}
}

// newInternalServerError is util.NewInternalServerError: the client sees only "Internal Server Error".
func newInternalServerError(cause, internal string) *userError {
	return &userError{code: codeInternal, chain: "InternalServerError: " + internal + ": " + cause, external: "Internal Server Error", withDetail: true}
}

// newUnavailableServerError is util.NewUnavailableServerError.
func newUnavailableServerError(cause, internal string) *userError {
	return &userError{code: codeUnavailable, chain: "ServiceUnavailable: " + internal + ": " + cause, external: "Service unavailable", withDetail: true}
}

// newResourceNotFoundError is util.NewResourceNotFoundError.
func newResourceNotFoundError(kind, name string) *userError {
	msg := fmt.Sprintf("%s %s not found", kind, name)
	return &userError{code: codeNotFound, chain: "ResourceNotFoundError: " + msg, external: msg, withDetail: true}
}

// newAlreadyExistError is util.NewAlreadyExistError.
func newAlreadyExistError(format string, a ...any) *userError {
	msg := fmt.Sprintf(format, a...)
	return &userError{code: codeAlreadyExists, chain: "Already exist error: " + msg, external: msg, withDetail: true}
}

// newGatewayError is an error raised by grpc-gateway itself (request parsing, routing), with no details.
func newGatewayError(code int, msg string) *userError {
	return &userError{code: code, chain: msg, external: msg}
}

// aggregate is k8s.io/apimachinery's utilerrors.NewAggregate(...).Error(): one message alone, duplicates
// collapsed, several in brackets.
func aggregate(msgs []string) string {
	var uniq []string
	seen := map[string]bool{}
	for _, m := range msgs {
		if !seen[m] {
			seen[m] = true
			uniq = append(uniq, m)
		}
	}
	if len(uniq) <= 1 {
		return strings.Join(uniq, "")
	}
	return "[" + strings.Join(uniq, ", ") + "]"
}
