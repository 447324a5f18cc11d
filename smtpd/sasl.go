package main

import (
	"errors"

	"github.com/emersion/go-smtp"

	"mailsuite/shared/auth"
	"mailsuite/smtpd/policy"
)

// authReply maps the outcome of an AUTH exchange (see auth.Login) to
// smtpd's reply: 235 is go-smtp's, on nil.
func authReply(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrAuthFailed):
		return smtp.ErrAuthFailed
	case errors.Is(err, auth.ErrThrottled):
		return errThrottled
	case errors.Is(err, auth.ErrSMTPDisabled):
		return policy.ErrLoginSMTPDisabled
	case errors.Is(err, auth.ErrMalformed):
		return errMalformedAuth
	case errors.Is(err, auth.ErrAuthzDenied):
		return errAuthzMismatch
	}
	return errAuthTemporary
}
