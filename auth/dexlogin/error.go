package dexlogin

import (
	"fmt"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// Error is a failed login: the reason code a check reports, the step that failed and, where a page answered,
// its HTTP status. Its message never holds a secret.
type Error struct {
	Reason result.Reason
	// Step is where the flow was: options, start, oauth2-start, connector, login, approval, callback.
	Step string
	// Status is the HTTP status of the page that ended the flow, 0 when none did (transport errors).
	Status int
	Err    error
}

// Error describes the failure for a person: step, status and reason, then the cause.
func (e *Error) Error() string {
	msg := "dex login failed at step " + e.Step
	if e.Status != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	msg += " [" + string(e.Reason) + "]"
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
