package main

import (
	"fmt"
	"log/slog"

	"github.com/emersion/go-smtp"
)

// This file holds every reply smtpd writes itself, so their codes and texts
// can be read and kept consistent in one place. A client's user sees many of
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
	// errLoginSMTPDisabled is sent at AUTH for a right password of a
	// credential whose SMTP authority is off.
	errLoginSMTPDisabled = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
		Message: "This account may not send mail (SMTP disabled by the administrator)"}
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
	// errSendingDisabled is sent at every MAIL FROM once the session's
	// credential lost its SMTP authority, and on a submission port at MAIL
	// FROM a user without SMTP authority who logs in from the client's
	// address (Identity.SendingDisabled).
	errSendingDisabled = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Sending is disabled for this account"}
	// errRelaySendingDisabled is sent on the MX port at RCPT TO of a remote
	// recipient for such a user's mail.
	errRelaySendingDisabled = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "Relay access denied: sending is disabled for this account"}
)

// Sender and relay rules (docs/ARCHITECTURE.md, "smtpd decides").
var (
	// errAuthRequired is sent on a submission port to a client with
	// neither AUTH nor a grant.
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Authentication required: log in with SMTP AUTH (or POP3/IMAP first) to send on this port"}
	// errNullSenderSubmission is sent for MAIL FROM:<> on a submission port.
	errNullSenderSubmission = &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "The null sender <> is accepted only on the MX port"}
)

// senderRefused is sent under strict sender checking for a MAIL FROM the
// credential or grant (described by who) may not use.
func senderRefused(from, who string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: fmt.Sprintf("Sender <%s> is not permitted for %s", from, who)}
}

// userUnknown is sent at RCPT TO for a local-domain address nobody receives.
func userUnknown(addr string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: fmt.Sprintf("<%s>: user unknown", addr)}
}

// relayDenied is sent at RCPT TO for a remote address when the client may
// not relay.
func relayDenied(addr string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: fmt.Sprintf("<%s>: relay access denied (authenticate, or log in with POP3/IMAP first)", addr)}
}

// addressError is sent for an address ParseAddress refused. 553 5.1.3
// (bad destination syntax) or 5.1.7 (bad sender syntax): permanent, and
// never a hint that a differently smuggled form might work.
func addressError(addr string, sender bool, err error) *smtp.SMTPError {
	code := smtp.EnhancedCode{5, 1, 3}
	if sender {
		code = smtp.EnhancedCode{5, 1, 7}
	}
	return &smtp.SMTPError{Code: 553, EnhancedCode: code,
		Message: fmt.Sprintf("Address not accepted: %s", printable(err.Error(), 200))}
}

// Quota (RFC 3463 X.2.2 "mailbox full"; temporary, see policy.go).

// mailboxFull is sent at RCPT TO for a recipient whose user is full, or
// would be by the size declared with MAIL FROM SIZE=.
func mailboxFull(addr string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2},
		Message: fmt.Sprintf("<%s>: mailbox full (over quota), try again later", addr)}
}

// errMessageOverQuota is sent at the end of data for a message that fits
// none of its local recipients and has no other one.
var errMessageOverQuota = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2},
	Message: "Mailbox full: the message does not fit the recipient's quota, try again later"}

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

// Sending limits (RFC 3463 X.7.1; temporary, see policy.go).

// sendLimitReached is sent at RCPT TO for a remote recipient past one of
// the account's sending limits; suspended says the account lost its SMTP
// authority for it, which the window's reset does not give back.
func sendLimitReached(account string, hit LimitHit, suspended bool) *smtp.SMTPError {
	msg := fmt.Sprintf("Sending limit reached for %s: %s; it resets at %s", account, hit,
		hit.Resets.UTC().Format("2006-01-02 15:04 MST"))
	if suspended {
		msg += "; sending is suspended until the administrator restores it"
	}
	return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: msg}
}

// dmarcRejected is sent at the end of data under smtpd.dmarc = "enforce"
// for a message that fails the DMARC policy p=reject of its From domain.
func dmarcRejected(domain string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: fmt.Sprintf("Message refused: not authenticated by SPF or DKIM for %s, whose DMARC policy is to reject it", domain)}
}
