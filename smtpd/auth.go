package main

import (
	"errors"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailsuite/shared"
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

var errThrottled = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
	Message: "Too many failed logins, try again later"}

// login checks a credential through the shared authenticator (which
// throttles, records failures and logs "auth failed"/"auth ok" with the
// IP). A user whose SMTP authority is off is refused here, with a reply
// that says so, rather than accepted and then refused at every
// recipient: the mail client shows the reason where the user looks.
func (s *session) login(login, password string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	cred, err := s.srv.auth.Check(ctx, shared.ServiceSMTP, s.ip, login, password)
	switch {
	case errors.Is(err, shared.ErrThrottled):
		s.pause()
		return errThrottled
	case errors.Is(err, shared.ErrAuthFailed):
		s.pause()
		return smtp.ErrAuthFailed
	case err != nil:
		s.srv.log.Error("auth lookup", "ip", s.ip, "err", err)
		return &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
			Message: "Temporary authentication failure"}
	}
	if !cred.SMTP {
		s.srv.log.Warn("auth refused", "proto", "smtp", "ip", s.ip, "user", cred.Name, "reason", "smtp disabled")
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
			Message: "This account may not send mail (SMTP disabled by the administrator)"}
	}
	var senders []string
	if cred.Kind == store.CredUser {
		if senders, err = s.srv.st.AliasesOf(ctx, cred.Name); err != nil {
			s.srv.log.Error("auth aliases", "user", cred.Name, "err", err)
			return &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
				Message: "Temporary authentication failure"}
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

var (
	errCredRevoked = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Authentication no longer valid (password changed or account removed), log in again"}
	errSendingDisabled = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Sending is disabled for this account"}
)

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
	case errors.Is(err, shared.ErrRevoked):
		s.revoke(errCredRevoked, "credential revoked")
	case err != nil:
		s.srv.log.Error("auth recheck", "ip", s.ip, "user", s.cred.Name, "err", err)
		return errTemporary
	case !cred.SMTP:
		s.revoke(errSendingDisabled, "smtp disabled")
	}
	return s.revoked
}

func (s *session) revoke(reply *smtp.SMTPError, reason string) {
	s.srv.log.Info("session revoked", "proto", "smtp", "ip", s.ip, "user", s.cred.Name, "reason", reason)
	s.cred, s.credSenders, s.revoked = nil, nil, reply
}
