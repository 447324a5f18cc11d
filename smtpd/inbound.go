package main

import (
	"net"

	"github.com/emersion/go-msgauth/dmarc"
	"github.com/emersion/go-smtp"

	"mailsuite/shared/config"
)

// inbound prepares an arriving message's header. From every message it
// removes the Authentication-Results fields that claim to be ours (a
// local user may not forge them either). Mail from the outside world (the
// MX port, neither AUTH nor a grant) is checked (see authcheck.go): inbound
// returns the Authentication-Results field to add, nil when unchecked,
// and under smtpd.dmarc = "enforce" whether the message goes to Junk or
// the refusal of its sender domain's p=reject (see enforce).
func (s *session) inbound(id string, body *spool) (ar []byte, junk bool, serr *smtp.SMTPError) {
	h, err := body.header()
	if err != nil {
		return nil, false, storeFailure(s.srv.log, "message not stored", err, "id", id, "ip", s.ip)
	}
	if h == nil {
		return nil, false, errHeaderTooLarge
	}
	if s.checked() {
		v := s.srv.checker.check(authInput{ip: net.ParseIP(s.ip), helo: s.helo, from: s.tx.from, header: h, msg: body.original()})
		ar = formatAuthResults(s.srv.cfg.Hostname, v.results)
		s.tx.checks = v.summary()
		if junk, serr = s.enforce(v); serr != nil {
			return nil, false, serr
		}
	}
	if kept, removed := removeOurAuthResults(h, s.srv.cfg.Hostname); removed {
		body.replaceHeader(len(h), kept)
		s.srv.log.Info("removed Authentication-Results claiming this host", "id", id, "ip", s.ip)
	}
	return ar, junk, nil
}

// checked reports whether the message gets the inbound checks: mail on
// the MX port without AUTH or a grant known to permit it.
func (s *session) checked() bool {
	return s.srv.checker != nil && s.role == RoleMX && s.cred == nil && s.tx.mail.Via != "grant"
}

// enforce applies a failed DMARC policy under smtpd.dmarc = "enforce":
// it says whether the message goes to Junk, or refuses it. Mail for
// local recipients only has not read the grants (see Mail); a message
// that would be refused or quarantined reads them now, and a user's
// grant for the client's IP that permits the sender exempts it.
func (s *session) enforce(v authVerdict) (junk bool, serr *smtp.SMTPError) {
	if s.srv.cfg.SMTPD.DMARC != config.DMARCEnforce || v.policy == "" {
		return false, nil
	}
	if s.tx.undecided && s.tx.from != "" {
		if serr := s.decideMail(); serr != nil {
			return false, serr
		}
		if s.tx.mail.Via == "grant" {
			return false, nil
		}
	}
	if v.policy == dmarc.PolicyReject {
		return false, dmarcRejected(v.domain)
	}
	return v.policy == dmarc.PolicyQuarantine, nil
}
