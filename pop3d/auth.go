package main

import (
	"context"
	"errors"

	"mailsuite/shared/auth"
	"mailsuite/store"
)

// loginAllowed reports whether credentials may be sent now: over TLS, or
// in the clear when the operator allowed it (RFC 2595).
func (s *session) loginAllowed() bool {
	return s.tls || s.srv.allowPlaintext
}

// refusePlaintext replies to a login attempt before TLS, and logs it as
// a refused login for user (as far as the client named one): no password
// was checked, so not as "auth failed".
func (s *session) refusePlaintext(user string) {
	auth.LogRefused(s.srv.log, string(auth.ServicePOP3), s.ip, user, "login before TLS")
	s.fail("-ERR [AUTH] plaintext login is disabled, use STLS first")
}

func (s *session) cmdUSER(c command) bool {
	if !s.loginAllowed() {
		s.refusePlaintext(c.rest)
		return true
	}
	if !s.wantArgs(c, 1, 1) {
		return true
	}
	s.user = c.args[0]
	s.ok("send PASS")
	return true
}

func (s *session) cmdPASS(c command) bool {
	if !s.loginAllowed() {
		s.refusePlaintext("")
		return true
	}
	if s.user == "" {
		s.fail("-ERR send USER first")
		return true
	}
	user := s.user
	s.user = ""
	if c.rest == "" {
		s.fail("-ERR PASS: missing argument")
		return true
	}
	s.replyLogin(s.logIn(user, c.rest))
	return true
}

func (s *session) loginPath() auth.Login {
	return auth.Login{Auth: s.srv.auth, Service: auth.ServicePOP3, IP: s.ip,
		FailureDelay: s.srv.failureDelay, GrantWindow: s.srv.window}
}

// logIn takes the shared login path (which records the relay grant), then
// locks and opens the maildrop, all before the reply: a client that
// sends mail right after its POP3 login is already allowed to relay.
func (s *session) logIn(user, pass string) error {
	ctx, cancel := s.op()
	ok, err := s.loginPath().Password(ctx, user, pass)
	cancel()
	if err != nil {
		return err
	}
	ctx, cancel = context.WithTimeout(s.ctx, s.srv.lockWait+s.srv.opTimeout)
	lock, err := s.srv.store.LockMaildrop(ctx, ok.Cred.UserID, s.srv.lockWait)
	cancel()
	if errors.Is(err, store.ErrMaildropLocked) {
		return err
	}
	if err != nil {
		s.log.Error("lock maildrop", "user", ok.Cred.Name, "err", err)
		return err
	}
	ctx, cancel = s.op()
	defer cancel()
	drop, err := loadMaildrop(ctx, s.srv.store, ok.Cred.UserID)
	if err != nil {
		lock.Release()
		s.log.Error("open maildrop", "user", ok.Cred.Name, "err", err)
		return err
	}
	s.lock, s.drop, s.login, s.cred, s.stamp = lock, drop, ok.Cred.Name, ok.Cred, ok.Stamp
	s.state = stateTransaction
	return nil
}

// replyLogin answers a login (PASS or the end of AUTH) with its outcome.
func (s *session) replyLogin(err error) {
	switch {
	case err == nil:
		n, size := s.drop.stat()
		s.ok("maildrop has %d messages (%d octets)", n, size)
	case errors.Is(err, auth.ErrThrottled):
		s.fail("-ERR [SYS/TEMP] too many failed logins, try again later")
	case errors.Is(err, auth.ErrAuthFailed):
		s.fail("-ERR [AUTH] invalid user name or password")
	case errors.Is(err, auth.ErrAuthzDenied):
		s.fail("-ERR [AUTH] authorization identity must be empty or the login")
	case errors.Is(err, auth.ErrMalformed):
		s.fail("-ERR [AUTH] malformed SASL response")
	case errors.Is(err, store.ErrMaildropLocked):
		s.fail("-ERR [IN-USE] maildrop is locked by another session")
	default: // logged by the login path or logIn
		s.failStore(err)
	}
}

// revoked reports whether the logged-in user was removed, or the password
// changed, since the login; dispatch then ends the session before the
// next command, QUIT included, so nothing more is read or deleted with a
// password the operator has taken away. It compares the stored hash and
// ID, and only when a credential changed since (see
// auth.Authenticator.RecheckChanged); a store error lets the command run.
func (s *session) revoked() bool {
	ctx, cancel := s.op()
	err := s.srv.auth.RecheckChanged(ctx, s.cred, &s.stamp)
	cancel()
	switch {
	case errors.Is(err, auth.ErrRevoked):
		s.log.Info("session revoked", "proto", "pop3", "user", s.login)
		s.reply("-ERR [AUTH] login no longer valid: password changed or account removed")
		return true
	case err != nil:
		s.log.Error("recheck login", "user", s.login, "err", err)
	}
	return false
}
