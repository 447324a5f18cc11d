package main

import (
	"bufio"
	"bytes"
	"context"
	"mime"
	"net/textproto"
	"slices"
	"strings"
	"unicode"

	"github.com/emersion/go-smtp"

	"mailsuite/smtpd/policy"
	"mailsuite/store"
)

// This file applies the sending limits (docs/ARCHITECTURE.md, "Sending
// limits") to a session: at each remote recipient it reads the account's
// usage once per transaction, applies policy.DecideSendLimit with what the
// transaction adds, and at the end of data hands the count to the
// store, which adds it in the message's own commit.

// sending is the limit state of one transaction that relays.
type sending struct {
	state   store.SendingState
	relayed []string // canonical remote recipients accepted so far
	fresh   []string // of them, addresses the account never sent to
	// off: every limit of the account is unlimited, so nothing is counted
	// (limits set later count from then on).
	off bool
}

// rcptLimit applies the sending limits to a remote recipient (canonical)
// the relay rules accepted. Local recipients are never counted.
func (s *session) rcptLimit(ctx context.Context, rcpt string) *smtp.SMTPError {
	sn := s.tx.sending
	if sn == nil {
		return s.firstRcptLimit(ctx, rcpt)
	}
	if sn.off || slices.Contains(sn.relayed, rcpt) {
		return nil
	}
	seen, err := s.srv.st.SentBefore(ctx, sn.state.Account, rcpt)
	if err != nil {
		return storeFailure(s.srv.log, "sending history", err, "account", sn.state.Account)
	}
	return s.applyLimits(ctx, rcpt, seen)
}

// firstRcptLimit reads the account's state with the transaction's first
// remote recipient (one query) and applies the limits to it.
func (s *session) firstRcptLimit(ctx context.Context, rcpt string) *smtp.SMTPError {
	account := policy.SendAccount(s.tx.id, s.tx.from)
	if account == "" {
		return nil
	}
	st, seen, err := s.srv.st.SendingStateTo(ctx, account, rcpt)
	if err != nil {
		return storeFailure(s.srv.log, "sending state", err, "account", account)
	}
	sn := &sending{state: st, off: st.Limits(s.srv.cfg.Relay.SendLimits()) == store.SendLimits{}}
	s.tx.sending = sn
	if sn.off {
		return nil
	}
	return s.applyLimits(ctx, rcpt, seen)
}

// applyLimits applies policy.DecideSendLimit to a remote recipient not yet in
// the transaction; seen says the account sent to it before.
func (s *session) applyLimits(ctx context.Context, rcpt string, seen bool) *smtp.SMTPError {
	sn := s.tx.sending
	limits := sn.state.Limits(s.srv.cfg.Relay.SendLimits())
	if hit := policy.DecideSendLimit(limits, sn.state.Usage, len(sn.relayed), len(sn.fresh), !seen); hit != nil {
		return s.overLimit(ctx, sn.state.Account, *hit)
	}
	sn.relayed = append(sn.relayed, rcpt)
	if !seen {
		sn.fresh = append(sn.fresh, rcpt)
	}
	return nil
}

// overLimit suspends the account when relay.suspend_on_limit says so and
// returns the reply, which Rcpt logs with the refused recipient.
func (s *session) overLimit(ctx context.Context, account string, hit policy.LimitHit) *smtp.SMTPError {
	suspended := false
	if s.srv.cfg.Relay.SuspendOnLimit {
		suspended = s.srv.suspend(ctx, account, hit.String(), s.ip)
	}
	return policy.SendLimitReached(account, hit, suspended)
}

// sendingEnvelope is what Accept counts for the transaction, nil when it
// relays nothing.
func (s *session) sendingEnvelope(body *spool) *store.Sending {
	sn := s.tx.sending
	if sn == nil || len(sn.relayed) == 0 {
		return nil
	}
	head, _ := body.header() // nil when unreadable: no subject
	return &store.Sending{Account: sn.state.Account, IP: s.ip, Subject: subjectOf(head),
		Rcpts: sn.relayed, Fresh: sn.fresh}
}

// subjectOf returns the decoded Subject of a message's header, made safe
// for one line of a notice and cut to 200 characters.
func subjectOf(head []byte) string {
	h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(head))).ReadMIMEHeader()
	subj := h.Get("Subject")
	if dec, err := new(mime.WordDecoder).DecodeHeader(subj); err == nil {
		subj = dec
	}
	subj = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, subj)
	if r := []rune(subj); len(r) > 200 {
		subj = string(r[:200])
	}
	return subj
}
