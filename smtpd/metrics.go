package main

import (
	"errors"
	"fmt"

	"github.com/emersion/go-smtp"

	"mailsuite/metrics"
)

// refusalReasons names the refusals for mailsuite_smtp_messages_refused_total
// by reply code and enhanced status code (replies.go), so the label set
// stays small and fixed, and a new reply of an existing kind is counted
// under its kind without a change here.
var refusalReasons = map[string]string{
	"554 5.7.1": "relay_denied",
	"553 5.7.1": "sender_refused",
	"530 5.7.0": "auth_required",
	"550 5.1.1": "unknown_user",
	"553 5.1.3": "bad_address",
	"553 5.1.7": "bad_address",
	"452 4.2.2": "over_quota",
	"552 5.3.4": "too_large",
	"550 5.6.0": "bad_data",
	"500 5.4.0": "bad_data",
	"451 4.4.2": "aborted",
	"451 4.3.0": "local_error",
	"421 4.3.2": "shutting_down",
	"503 5.5.1": "bad_sequence",
	"450 4.7.1": "rate_limited",
	"550 5.7.1": "policy",
}

// refusalReason is the reason label of a refusal: its kind by reply, or
// "temporary" or "permanent" for one not listed.
func refusalReason(err error) string {
	var serr *smtp.SMTPError
	if !errors.As(err, &serr) {
		return "local_error"
	}
	e := serr.EnhancedCode
	if r, ok := refusalReasons[fmt.Sprintf("%d %d.%d.%d", serr.Code, e[0], e[1], e[2])]; ok {
		return r
	}
	if serr.Temporary() {
		return "temporary"
	}
	return "permanent"
}

// countRefusal counts a refused MAIL, RCPT or DATA; nil err counts nothing.
func (s *session) countRefusal(err error) {
	if err != nil {
		s.srv.metrics.MessageRefused(s.role.String(), refusalReason(err))
	}
}

// countData counts a message accepted, or refused at the end of data.
func (s *session) countData(err error) {
	if err == nil {
		s.srv.metrics.MessageAccepted(s.role.String())
		return
	}
	s.countRefusal(err)
}

// countRelay counts the relay decision on a remote recipient: the route
// that permitted it, or refused.
func (s *session) countRelay(r Recipient, refusal *smtp.SMTPError) {
	switch {
	case r.LocalDomain:
	case refusal != nil:
		s.srv.metrics.RelayDecision(metrics.RouteRefused)
	default:
		s.srv.metrics.RelayDecision(s.tx.mail.Via)
	}
}
