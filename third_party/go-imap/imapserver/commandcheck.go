package imapserver

import (
	"github.com/emersion/go-imap/v2"
)

// mailsuite: SessionCommandCheck lets a logged-in session end itself
// before a command runs, e.g. when its user was removed or the password
// changed since the login. go-imap has no per-command hook of its own.
type SessionCommandCheck interface {
	Session

	// CheckCommand is called before each command in the authenticated
	// and selected states, with the command's name in upper case. A
	// non-nil error ends the connection with an untagged BYE carrying the
	// error's text; the command does not run.
	CheckCommand(name string) error
}

// checkCommand runs the session's CheckCommand, if it has one, and says
// whether the connection was ended.
func (c *Conn) checkCommand(name string) (ended bool, err error) {
	s, ok := c.session.(SessionCommandCheck)
	if !ok || (c.state != imap.ConnStateAuthenticated && c.state != imap.ConnStateSelected) {
		return false, nil
	}
	if cerr := s.CheckCommand(name); cerr != nil {
		c.state = imap.ConnStateLogout
		return true, c.Bye(cerr.Error())
	}
	return false, nil
}

// mailsuite: SessionPrivacyRefusal is told of a LOGIN or AUTHENTICATE
// refused with PRIVACYREQUIRED (no TLS and InsecureAuth off), so the
// server can log it as it logs other refused logins. username is the
// LOGIN name, or "" for AUTHENTICATE (whose credentials were not read).
type SessionPrivacyRefusal interface {
	Session

	PrivacyRefused(username string)
}

// privacyRefused tells the session, if it wants to know, and returns the
// PRIVACYREQUIRED refusal.
func (c *Conn) privacyRefused(username string) error {
	if s, ok := c.session.(SessionPrivacyRefusal); ok {
		s.PrivacyRefused(username)
	}
	return &imap.Error{
		Type: imap.StatusResponseTypeNo,
		Code: imap.ResponseCodePrivacyRequired,
		Text: "TLS is required to authenticate",
	}
}
