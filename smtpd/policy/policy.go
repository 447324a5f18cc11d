// Package policy holds the relay and sender rules of docs/ARCHITECTURE.md
// ("smtpd decides, at RCPT TO") as pure functions over facts gathered from
// the store (facts.go), with the replies they give (replies.go). smtpd
// applies them to every session; mailctl's "relay check" applies the very
// same functions to a question an operator asks.
package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"mailsuite/store"
)

// Every route through these functions is table-tested (TestPolicyTable in
// policy_test.go).

// Role is what a listener is for.
type Role int

const (
	// RoleMX is port 25: mail for local domains from anyone, relaying only
	// for authenticated or granted clients, null sender allowed.
	RoleMX Role = iota
	// RoleSubmission is ports 587 and 465: every message needs auth or a
	// grant, local recipients included.
	RoleSubmission
)

func (r Role) String() string {
	if r == RoleMX {
		return "mx"
	}
	return "submission"
}

// Identity is who the client is, as far as sending goes.
type Identity struct {
	// Cred is the SMTP AUTH credential, nil when not authenticated.
	Cred *store.Credential
	// CredSenders are the canonical addresses a user credential may send
	// as: its own address and the aliases that deliver to it.
	CredSenders []string
	// IP is the TCP peer address.
	IP string
	// Granted are the addresses of users with SMTP authority holding a
	// live POP/IMAP-before-SMTP grant for IP.
	Granted []string
	// GrantSenders are the addresses those users may send as (their own
	// and their aliases).
	GrantSenders []string
	// SendingDisabled: the client has neither AUTH nor a grant, and the
	// sender is a user without SMTP authority who logs in (POP3, IMAP)
	// from IP. She is told that sending is disabled for her account, not
	// to log in first, which she just did.
	SendingDisabled bool
}

// Mail is the verdict on MAIL FROM.
type Mail struct {
	// Relay says whether this transaction may send to remote recipients.
	Relay bool
	// Via names what permitted relaying, for logs and the Received header:
	// "auth", "grant", or "" for plain inbound mail.
	Via string
	// RelayRefusal, when set, is the answer to a remote recipient instead
	// of "relay access denied": the client holds a grant but the sender
	// belongs to none of its users, or the sender is a user without SMTP
	// authority who logs in from the client's address.
	RelayRefusal *smtp.SMTPError
	// Rule is the rule that decided, refusal or not, RelayRefusal's
	// included (for "mailctl relay check").
	Rule Rule
}

// DecideMail applies the sender rule (docs/ARCHITECTURE.md rule 4) to a canonical
// sender address ("" for the null sender). strict is sender_check =
// "strict". On the MX port a client with no identity, or a grant whose
// users the sender does not match, may still send to local recipients:
// that is ordinary inbound mail. The Mail returned with a refusal carries
// only the rule that refused.
func DecideMail(role Role, strict bool, id Identity, from string) (Mail, *smtp.SMTPError) {
	if from == "" {
		if role != RoleMX {
			return Mail{Rule: Rule4}, ErrNullSenderSubmission
		}
		return Mail{Rule: Rule4}, nil // bounces are delivered locally, never relayed
	}
	if id.Cred != nil {
		if !id.Cred.SMTP {
			return Mail{Rule: Rule2}, ErrSendingDisabled
		}
		if strict && !credMaySend(id, from) {
			return Mail{Rule: Rule4}, SenderRefused(from, describeCred(id.Cred))
		}
		return Mail{Relay: true, Via: "auth", Rule: Rule2}, nil
	}
	if len(id.Granted) > 0 {
		if !strict || contains(id.GrantSenders, from) {
			return Mail{Relay: true, Via: "grant", Rule: Rule2}, nil
		}
		refusal := SenderRefused(from, fmt.Sprintf("the POP/IMAP-before-SMTP login from %s (%s)",
			id.IP, strings.Join(id.Granted, ", ")))
		if role == RoleSubmission {
			return Mail{Rule: Rule4}, refusal
		}
		// On the MX port mail to local users is accepted from anyone
		// (rule 1), an office behind the granted NAT address included;
		// only relaying needs the sender to match (rule 4).
		return Mail{RelayRefusal: refusal, Rule: Rule4}, nil
	}
	if id.SendingDisabled {
		if role == RoleSubmission {
			return Mail{Rule: Rule2}, ErrSendingDisabled
		}
		return Mail{RelayRefusal: ErrRelaySendingDisabled, Rule: Rule2}, nil
	}
	if role == RoleSubmission {
		return Mail{Rule: Rule3}, ErrAuthRequired
	}
	return Mail{Rule: Rule1}, nil
}

// credMaySend reports whether the authenticated credential may use from.
func credMaySend(id Identity, from string) bool {
	if id.Cred.Kind == store.CredDomain {
		_, d := store.SplitAddress(from)
		return d == id.Cred.Domain
	}
	return from == id.Cred.Name || contains(id.CredSenders, from)
}

func describeCred(c *store.Credential) string {
	if c.Kind == store.CredDomain {
		return "the domain credential " + c.Name
	}
	return "the authenticated user " + c.Name
}

// DecideAuth applies rule 2 at AUTH, after the password was checked: a
// credential without SMTP authority is refused there, with a reply that
// says so, rather than accepted and then refused at every recipient: the
// mail client shows the reason where the user looks.
func DecideAuth(cred store.Credential) *smtp.SMTPError {
	if !cred.SMTP {
		return ErrLoginSMTPDisabled
	}
	return nil
}

// Recipient is what the session knows about one RCPT TO address.
type Recipient struct {
	Addr string // canonical
	// LocalDomain: the domain is in the store.
	LocalDomain bool
	// Known: a local user or alias (or postmaster@/abuse@) receives it.
	Known bool
}

// DecideRcpt applies rules 1 to 3 to one recipient, given the verdict on
// MAIL FROM. It returns the rule that decided, and nil to accept.
func DecideRcpt(role Role, m Mail, r Recipient) (Rule, *smtp.SMTPError) {
	if role == RoleSubmission && !m.Relay {
		return Rule3, ErrAuthRequired
	}
	if r.LocalDomain {
		if r.Known {
			return Rule1, nil
		}
		return Rule1, UserUnknown(r.Addr)
	}
	if m.Relay {
		return Rule2, nil
	}
	if m.RelayRefusal != nil {
		return m.Rule, m.RelayRefusal
	}
	return Rule2, RelayDenied(r.Addr)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Quota refusals (RFC 3463 X.2.2 "mailbox full"). They are temporary: the
// sender retries, and the mail arrives once the user has made room.
//
// At RCPT a recipient is refused when any local user it reaches is full,
// or would be by the size the client declared with MAIL FROM SIZE=. At
// the end of data (one reply for all recipients) the message is refused
// only when it fits none of the local users and there is no remote
// recipient; otherwise every recipient gets it, and one it takes over
// quota goes over by this message only (at most max_message_bytes), to
// be refused at RCPT from then on. Refusing it to the others would hold
// their mail for one full mailbox; dropping that one copy would lose it.
// postmaster@ and abuse@ are never refused (RFC 5321 §4.5.1, RFC 2142):
// a report of abuse must reach the operator even when that mailbox is full.

// DecideRcptQuota applies the quota to one recipient's local users, given
// the size declared at MAIL FROM (0: none). It returns nil to accept.
func DecideRcptQuota(addr string, users []store.Quota, declared int64) *smtp.SMTPError {
	if QuotaExempt(addr) {
		return nil
	}
	for _, q := range users {
		if q.Full() || (declared > 0 && !q.Fits(declared)) {
			return MailboxFull(addr)
		}
	}
	return nil
}

// DecideDataQuota applies the quota at the end of data to the local users
// of the transaction, for a message of size bytes as stored. others says
// the message has recipients the quota does not stop: remote ones, or
// postmaster@ or abuse@.
func DecideDataQuota(users []store.Quota, others bool, size int64) *smtp.SMTPError {
	if others || len(users) == 0 {
		return nil
	}
	for _, q := range users {
		if q.Fits(size) {
			return nil
		}
	}
	return ErrMessageOverQuota
}

// quotaExempt reports whether a canonical recipient is postmaster@ or
// abuse@ of a domain.
func QuotaExempt(addr string) bool {
	local, _ := store.SplitAddress(addr)
	return local == "postmaster" || local == "abuse"
}

// Sending limits (docs/ARCHITECTURE.md, "Sending limits"). A user or
// domain credential may relay so many messages per clock hour, so many
// remote recipients per UTC day, and so many of them addresses it never
// sent to before. Local recipients never count. The refusal is temporary
// (450 4.7.1): a legitimate sender's mail goes out once the window resets.

// LimitHit names the sending limit a recipient would exceed.
type LimitHit struct {
	Limit  int64
	What   string    // "messages per hour", "recipients per day", "new recipients per day"
	Resets time.Time // the end of the window
}

func (h LimitHit) String() string { return fmt.Sprintf("%d %s", h.Limit, h.What) }

// SendAccount is who a relayed message counts against: the AUTH
// credential (a user's address, or the domain for a domain credential),
// else the granted user whose address is the sender, else the first
// granted user (an alias of one of them, or sender_check = "off").
func SendAccount(id Identity, from string) string {
	switch {
	case id.Cred != nil:
		return id.Cred.Name
	case slices.Contains(id.Granted, from):
		return from
	case len(id.Granted) > 0:
		return id.Granted[0]
	}
	return ""
}

// DecideSendLimit applies the limits to one more remote recipient of a
// transaction, given the account's usage before the transaction, the
// remote recipients the transaction already has (relayed), how many of
// those are first-time (fresh), and whether this one is (isNew). The
// first remote recipient also counts the message. It returns nil to
// accept.
func DecideSendLimit(l store.SendLimits, u store.SendUsage, relayed, fresh int, isNew bool) *LimitHit {
	switch {
	case relayed == 0 && l.MessagesPerHour > 0 && u.Messages+1 > l.MessagesPerHour:
		return &LimitHit{Limit: l.MessagesPerHour, What: "messages per hour", Resets: u.HourEnd}
	case l.RecipientsPerDay > 0 && u.Recipients+int64(relayed)+1 > l.RecipientsPerDay:
		return &LimitHit{Limit: l.RecipientsPerDay, What: "recipients per day", Resets: u.DayEnd}
	case isNew && l.NewRecipientsPerDay > 0 && u.NewRecipients+int64(fresh)+1 > l.NewRecipientsPerDay:
		return &LimitHit{Limit: l.NewRecipientsPerDay, What: "new recipients per day", Resets: u.DayEnd}
	}
	return nil
}
