package main

import (
	"errors"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailsuite/shared/auth"
	"mailsuite/store"
)

// AuthMechanisms lists what EHLO advertises. go-smtp shows them only over
// TLS unless auth.allow_plaintext is set, and answers AUTH before TLS with
// 523 5.7.10.
func (s *session) AuthMechanisms() []string {
	return []string{sasl.Plain, sasl.Login}
}

// Auth starts a SASL exchange.
func (s *session) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return &plainServer{check: s.login}, nil
	case sasl.Login:
		return &loginServer{check: s.login}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// login checks a credential through the shared authenticator (which
// throttles, records failures and logs "auth failed"/"auth ok" with the
// IP). A user whose SMTP authority is off is refused here, with a reply
// that says so, rather than accepted and then refused at every
// recipient: the mail client shows the reason where the user looks.
func (s *session) login(login, password string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	cred, err := s.srv.auth.Check(ctx, auth.ServiceSMTP, s.ip, login, password)
	switch {
	case errors.Is(err, auth.ErrThrottled):
		s.pause()
		return errThrottled
	case errors.Is(err, auth.ErrAuthFailed):
		s.pause()
		return smtp.ErrAuthFailed
	case err != nil:
		s.srv.log.Error("auth lookup", "ip", s.ip, "err", err)
		return errAuthTemporary
	}
	if !cred.SMTP {
		s.srv.log.Warn("auth refused", "proto", "smtp", "ip", s.ip, "user", cred.Name, "reason", "smtp disabled")
		return errLoginSMTPDisabled
	}
	var senders []string
	if cred.Kind == store.CredUser {
		if senders, err = s.srv.st.AliasesOf(ctx, cred.Name); err != nil {
			s.srv.log.Error("auth aliases", "user", cred.Name, "err", err)
			return errAuthTemporary
		}
	}
	s.cred, s.credSenders = &cred, senders
	s.Reset()
	return nil
}

// pause slows down guessing on one connection.
func (s *session) pause() {
	if s.srv.failureDelay > 0 {
		time.Sleep(s.srv.failureDelay)
	}
}

// recheckAuth runs at every MAIL FROM of an authenticated session: the
// credential must still exist with the password it was checked with, and
// still have SMTP authority, or the operator's revocation would not reach
// a client that keeps its connection open. It compares the stored hash and
// ID; no password is hashed again. Once revoked, the session answers every
// MAIL the same way (go-smtp allows one AUTH per connection).
func (s *session) recheckAuth() *smtp.SMTPError {
	if s.revoked != nil || s.cred == nil {
		return s.revoked
	}
	ctx, cancel := s.ctx()
	defer cancel()
	cred, err := s.srv.auth.Recheck(ctx, *s.cred)
	switch {
	case errors.Is(err, auth.ErrRevoked):
		s.revoke(errCredRevoked, "credential revoked")
	case err != nil:
		return storeFailure(s.srv.log, "auth recheck", err, "ip", s.ip, "user", s.cred.Name)
	case !cred.SMTP:
		s.revoke(errSendingDisabled, "smtp disabled")
	}
	return s.revoked
}

func (s *session) revoke(reply *smtp.SMTPError, reason string) {
	s.srv.log.Info("session revoked", "proto", "smtp", "ip", s.ip, "user", s.cred.Name, "reason", reason)
	s.cred, s.credSenders, s.revoked = nil, nil, reply
}
