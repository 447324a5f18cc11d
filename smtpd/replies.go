package main

import (
	"fmt"
	"log/slog"

	"github.com/emersion/go-smtp"
)

// This file holds every reply smtpd writes itself, except those of the
// relay, sender and quota rules (smtpd/policy/replies.go), so their codes
// and texts can be read and kept consistent in one place. A client's user sees many of
// them in bounce dialogs; outside tests check them byte for byte.

// Session and transaction.
var (
	// errTemporary is sent when the store (or the spool) fails: go-smtp
	// would turn a plain error into a permanent 5xx, which would make the
	// client bounce mail it should retry. Use storeFailure to send it.
	errTemporary = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "Temporary local problem, please try again later"}
	// errShuttingDown is sent at DATA while the server stops.
	errShuttingDown = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2},
		Message: "Shutting down, try again later"}
	// errMailFirst is sent at RCPT TO before a MAIL FROM.
	errMailFirst = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "MAIL first"}
)

// storeFailure logs an unexpected store error as what (with attrs, then the
// error) and returns the temporary reply that makes the client retry.
func storeFailure(log *slog.Logger, what string, err error, attrs ...any) *smtp.SMTPError {
	log.Error(what, append(attrs, "err", err)...)
	return errTemporary
}

// Authentication.
var (
	// errThrottled is sent at AUTH when the IP or login has failed too often.
	errThrottled = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
		Message: "Too many failed logins, try again later"}
	// errAuthTemporary is sent at AUTH when the credential cannot be read.
	errAuthTemporary = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
		Message: "Temporary authentication failure"}
	// errMalformedAuth is sent for SASL data that does not parse.
	errMalformedAuth = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2},
		Message: "Malformed authentication data"}
	// errAuthzMismatch is sent for SASL PLAIN naming another user to act as.
	errAuthzMismatch = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
		Message: "Authorization identity must be empty or equal the login"}
	// errCredRevoked is sent at every MAIL FROM once the session's
	// credential was removed or its password changed.
	errCredRevoked = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Authentication no longer valid (password changed or account removed), log in again"}
)

// Message data.
var (
	// errBareLineEnd is sent at the end of data holding a bare CR or LF
	// (SMTP smuggling).
	errBareLineEnd = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
		Message: "Message refused: bare CR or LF in the data (lines must end with CRLF)"}
	// errNUL is sent at the end of data holding a NUL byte.
	errNUL = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
		Message: "Message refused: NUL byte in the data"}
	// errLineTooLong is sent when a data line exceeds go-smtp's limit.
	errLineTooLong = &smtp.SMTPError{Code: 500, EnhancedCode: smtp.EnhancedCode{5, 4, 0}, Message: "Line too long"}
	// errDataRead is sent when the data is cut off before its end.
	errDataRead = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Error reading the message"}
	// errHeaderTooLarge is sent at the end of data for a header section
	// over 1 MiB (see maxHeader).
	errHeaderTooLarge = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
		Message: "Message refused: header section over 1 MiB"}
)

// dmarcRejected is sent at the end of data under smtpd.dmarc = "enforce"
// for a message that fails the DMARC policy p=reject of its From domain.
func dmarcRejected(domain string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: fmt.Sprintf("Message refused: not authenticated by SPF or DKIM for %s, whose DMARC policy is to reject it", domain)}
}
