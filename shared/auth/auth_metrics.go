package auth

import (
	"errors"

	"mailsuite/metrics"
)

// loginResult is the result label of a login that Check ended with err.
func loginResult(err error) string {
	switch {
	case err == nil:
		return metrics.LoginOK
	case errors.Is(err, ErrAuthFailed):
		return metrics.LoginFailed
	case errors.Is(err, ErrThrottled):
		return metrics.LoginThrottled
	}
	return metrics.LoginError
}
