package main

import (
	"errors"

	"mailsuite/shared/auth"
)

// errRevoked ends a session whose login no longer stands.
var errRevoked = errors.New("login no longer valid: password changed or account removed")

// CheckCommand runs before every command once logged in (a mailsuite
// hook in imapserver): a session of a user removed, or whose password
// changed, since its login ends with a BYE at its next command instead of
// reading mail with a password the operator has taken away. It compares
// the stored hash and ID, and only when a credential changed since (see
// auth.Authenticator.RecheckChanged); a store error lets the command run.
func (s *session) CheckCommand(string) error {
	s.fresh = false // see syncView
	ctx, cancel := s.ctx()
	defer cancel()
	var err error
	aside(func() { err = s.srv.auth.RecheckChanged(ctx, s.cred, &s.stamp) })
	switch {
	case errors.Is(err, auth.ErrRevoked):
		s.srv.log.Info("session revoked", "proto", "imap", "user", s.login)
		return errRevoked
	case err != nil:
		s.srv.log.Error("recheck login", "user", s.login, "err", err)
	}
	return nil
}
