package policy

import (
	"fmt"

	"github.com/emersion/go-smtp"
)

// The replies of the rules. smtpd/replies.go holds smtpd's others; outside
// tests check them byte for byte.

// ErrLoginSMTPDisabled is sent at AUTH for a right password of a
// credential whose SMTP authority is off (rule 2; see DecideAuth).
var ErrLoginSMTPDisabled = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
	Message: "This account may not send mail (SMTP disabled by the administrator)"}

// Sender and relay rules (docs/ARCHITECTURE.md, "smtpd decides").
var (
	// ErrAuthRequired is sent on a submission port to a client with
	// neither AUTH nor a grant.
	ErrAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Authentication required: log in with SMTP AUTH (or POP3/IMAP first) to send on this port"}
	// ErrNullSenderSubmission is sent for MAIL FROM:<> on a submission port.
	ErrNullSenderSubmission = &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "The null sender <> is accepted only on the MX port"}
	// ErrSendingDisabled is sent at MAIL FROM to a credential without SMTP
	// authority (smtpd also at every MAIL FROM once the session's
	// credential lost it), and on a submission port to a user without SMTP
	// authority who logs in from the client's address
	// (Identity.SendingDisabled).
	ErrSendingDisabled = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Sending is disabled for this account"}
	// ErrRelaySendingDisabled is sent on the MX port at RCPT TO of a remote
	// recipient for such a user's mail.
	ErrRelaySendingDisabled = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "Relay access denied: sending is disabled for this account"}
)

// SenderRefused is sent under strict sender checking for a MAIL FROM the
// credential or grant (described by who) may not use.
func SenderRefused(from, who string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: fmt.Sprintf("Sender <%s> is not permitted for %s", from, who)}
}

// UserUnknown is sent at RCPT TO for a local-domain address nobody receives.
func UserUnknown(addr string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: fmt.Sprintf("<%s>: user unknown", addr)}
}

// RelayDenied is sent at RCPT TO for a remote address when the client may
// not relay.
func RelayDenied(addr string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: fmt.Sprintf("<%s>: relay access denied (authenticate, or log in with POP3/IMAP first)", addr)}
}

// AddressError is sent for an address ParseAddress refused. 553 5.1.3
// (bad destination syntax) or 5.1.7 (bad sender syntax): permanent, and
// never a hint that a differently smuggled form might work.
func AddressError(addr string, sender bool, err error) *smtp.SMTPError {
	code := smtp.EnhancedCode{5, 1, 3}
	if sender {
		code = smtp.EnhancedCode{5, 1, 7}
	}
	return &smtp.SMTPError{Code: 553, EnhancedCode: code,
		Message: fmt.Sprintf("Address not accepted: %s", Printable(err.Error(), 200))}
}

// Quota (RFC 3463 X.2.2 "mailbox full"; temporary, see policy.go).

// MailboxFull is sent at RCPT TO for a recipient whose user is full, or
// would be by the size declared with MAIL FROM SIZE=.
func MailboxFull(addr string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2},
		Message: fmt.Sprintf("<%s>: mailbox full (over quota), try again later", addr)}
}

// ErrMessageOverQuota is sent at the end of data for a message that fits
// none of its local recipients and has no other one.
var ErrMessageOverQuota = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2},
	Message: "Mailbox full: the message does not fit the recipient's quota, try again later"}

// Sending limits (RFC 3463 X.7.1; temporary, see policy.go).

// SendLimitReached is sent at RCPT TO for a remote recipient past one of
// the account's sending limits; suspended says the account lost its SMTP
// authority for it, which the window's reset does not give back.
func SendLimitReached(account string, hit LimitHit, suspended bool) *smtp.SMTPError {
	msg := fmt.Sprintf("Sending limit reached for %s: %s; it resets at %s", account, hit,
		hit.Resets.UTC().Format("2006-01-02 15:04 MST"))
	if suspended {
		msg += "; sending is suspended until the administrator restores it"
	}
	return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: msg}
}
