package checks

import (
	"fmt"

	"github.com/kfp-authcheck/kfp-authcheck/result"
)

// pass, fail, warn, na and errorf build the Result a check returns; the runner fills in ID, title, duration.
func pass(format string, args ...any) result.Result {
	return result.Result{Status: result.Pass, Message: fmt.Sprintf(format, args...)}
}

func fail(reason result.Reason, format string, args ...any) result.Result {
	return result.Result{Status: result.Fail, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func warn(reason result.Reason, format string, args ...any) result.Result {
	return result.Result{Status: result.Warn, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func na(reason result.Reason, format string, args ...any) result.Result {
	return result.Result{Status: result.NA, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func errorf(reason result.Reason, format string, args ...any) result.Result {
	return result.Result{Status: result.Error, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// expecting attaches what the check expected and what it saw.
func expecting(r result.Result, expected, actual string) result.Result {
	r.Expected, r.Actual = expected, actual
	return r
}
