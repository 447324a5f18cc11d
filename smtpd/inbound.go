package main

import (
	"net"

	"github.com/emersion/go-msgauth/dmarc"
	"github.com/emersion/go-smtp"

	"mailsuite/shared"
)

// inbound prepares an arriving message's header. From every message it
// removes the Authentication-Results fields that claim to be ours (a
// local user may not forge them either). Mail from the outside world (the
// MX port, neither AUTH nor a grant) is checked (see authcheck.go): inbound
// returns the Authentication-Results field to add, nil when unchecked,
// and under smtpd.dmarc = "enforce" whether the message goes to Junk or
// the refusal of its sender domain's p=reject.
func (s *session) inbound(id string, body *spool) (ar []byte, junk bool, serr *smtp.SMTPError) {
	h, err := body.header()
	if err != nil {
		return nil, false, storeFailure(s.srv.log, "message not stored", err, "id", id, "ip", s.ip)
	}
	if h == nil {
		return nil, false, errHeaderTooLarge
	}
	checked, serr := s.checked()
	if serr != nil {
		return nil, false, serr
	}
	if checked {
		v := s.srv.checker.check(authInput{ip: net.ParseIP(s.ip), helo: s.helo, from: s.tx.from, header: h, msg: body.original()})
		ar = formatAuthResults(s.srv.cfg.Hostname, v.results)
		s.tx.checks = v.summary()
		if s.srv.cfg.SMTPD.DMARC == shared.DMARCEnforce {
			switch v.policy {
			case dmarc.PolicyReject:
				return nil, false, dmarcRejected(v.domain)
			case dmarc.PolicyQuarantine:
				junk = true
			}
		}
	}
	if kept, removed := removeOurAuthResults(h, s.srv.cfg.Hostname); removed {
		body.replaceHeader(len(h), kept)
		s.srv.log.Info("removed Authentication-Results claiming this host", "id", id, "ip", s.ip)
	}
	return ar, junk, nil
}

// checked reports whether the message gets the inbound checks: mail on
// the MX port without AUTH, unless a user's grant for the client's IP
// permits the sender. Mail for local recipients only has not looked the
// grants up yet (see Mail): it does now, once per message.
func (s *session) checked() (bool, *smtp.SMTPError) {
	if s.srv.checker == nil || s.role != RoleMX || s.cred != nil {
		return false, nil
	}
	if s.tx.undecided && s.tx.from != "" {
		if serr := s.decideMail(); serr != nil {
			return false, serr
		}
	}
	return s.tx.mail.Via != "grant", nil
}
