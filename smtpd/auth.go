package main

import (
	"errors"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailsuite/shared/auth"
	"mailsuite/smtpd/policy"
)

// AuthMechanisms lists what EHLO advertises. go-smtp shows them only over
// TLS unless auth.allow_plaintext is set, and answers AUTH before TLS with
// 523 5.7.10.
func (s *session) AuthMechanisms() []string {
	return []string{auth.MechPlain, auth.MechLogin}
}

// Auth starts a SASL exchange on the one login path (see auth.Login).
func (s *session) Auth(mech string) (sasl.Server, error) {
	srv, err := s.loginPath().SASL(mech, s.login, authReply)
	if err != nil {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return srv, nil
}

func (s *session) loginPath() auth.Login {
	return auth.Login{Auth: s.srv.auth, Service: auth.ServiceSMTP, IP: s.ip, FailureDelay: s.srv.failureDelay}
}

// login ends an AUTH exchange: the shared login path checks the
// credential (it throttles, pauses after a failure, logs "auth
// failed"/"auth ok" with the IP, and refuses a user whose SMTP authority
// is off, which authReply answers with policy.DecideAuth's reply); smtpd
// then reads the addresses the credential may send as.
func (s *session) login(user, password string) error {
	ctx, cancel := s.ctx()
	defer cancel()
	ok, err := s.loginPath().Password(ctx, user, password)
	if err != nil {
		return err
	}
	cred := ok.Cred
	senders, err := policy.CredSenders(ctx, s.srv.st, cred)
	if err != nil {
		s.srv.log.Error("auth aliases", "user", cred.Name, "err", err)
		return err
	}
	s.cred, s.credSenders = &cred, senders
	s.Reset()
	return nil
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
		s.revoke(policy.ErrSendingDisabled, "smtp disabled")
	}
	return s.revoked
}

func (s *session) revoke(reply *smtp.SMTPError, reason string) {
	s.srv.log.Info("session revoked", "proto", "smtp", "ip", s.ip, "user", s.cred.Name, "reason", reason)
	s.cred, s.credSenders, s.revoked = nil, nil, reply
}
