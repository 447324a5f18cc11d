package main

import (
	"errors"
	"time"

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
	s.authenticate(user, c.rest)
	return true
}

// authenticate checks the credentials and, on success, locks and opens the
// maildrop and records the relay grant before saying +OK, so a client that
// sends mail right after its POP3 login is already allowed to relay.
func (s *session) authenticate(user, pass string) {
	stamp := s.srv.store.CredentialStamp() // before the check: see RecheckChanged
	ctx, cancel := s.op()
	cred, err := s.srv.auth.Check(ctx, auth.ServicePOP3, s.ip, user, pass)
	cancel()
	switch {
	case errors.Is(err, auth.ErrThrottled):
		s.delay()
		s.fail("-ERR [SYS/TEMP] too many failed logins, try again later")
		return
	case errors.Is(err, auth.ErrAuthFailed):
		s.delay()
		s.fail("-ERR [AUTH] invalid user name or password")
		return
	case err != nil:
		s.internal("check login", err)
		return
	}
	lock, err := lockMaildrop(s.srv.lockDir, cred.UserID, s.srv.lockWait)
	if errors.Is(err, errLocked) {
		s.fail("-ERR [IN-USE] maildrop is locked by another session")
		return
	}
	if err != nil {
		s.internalFor(cred.Name, "lock maildrop", err)
		return
	}
	drop, err := s.openMaildrop(cred)
	if err != nil {
		lock.unlock()
		s.internalFor(cred.Name, "open maildrop", err)
		return
	}
	s.lock, s.drop, s.login, s.cred, s.stamp = lock, drop, cred.Name, cred, stamp
	s.state = stateTransaction
	n, size := drop.stat()
	s.ok("maildrop has %d messages (%d octets)", n, size)
}

// openMaildrop reads the maildrop of a user just logged in and records the
// relay grant: a grant is the right to send, so none without SMTP
// authority.
func (s *session) openMaildrop(cred store.Credential) (*maildrop, error) {
	ctx, cancel := s.op()
	defer cancel()
	drop, err := loadMaildrop(ctx, s.srv.store, cred.UserID)
	if err == nil && cred.SMTP {
		err = s.srv.store.Grant(ctx, s.ip, cred.UserID, s.srv.window)
	}
	return drop, err
}

// delay slows down password guessing on one connection; the reply is
// flushed after it, so the client cannot tell a failure sooner.
func (s *session) delay() {
	if s.srv.failureDelay > 0 {
		time.Sleep(s.srv.failureDelay)
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
