package auth

import (
	"bytes"
	"errors"
	"strings"

	"github.com/emersion/go-sasl"
)

// The SASL mechanisms the daemons offer. LOGIN is obsolete but
// ubiquitous: Outlook and Outlook Express use it, and go-sasl has no
// server for it.
const (
	MechPlain = sasl.Plain
	MechLogin = sasl.Login
)

// Refusals of a SASL exchange, before any password is checked.
var (
	// ErrMalformed: the client's data does not parse.
	ErrMalformed = errors.New("malformed SASL response")
	// ErrAuthzDenied: a PLAIN authorization identity other than the
	// login; acting as another user is exactly what must never work.
	ErrAuthzDenied = errors.New("authorization identity must be empty or the login")
	// ErrUnknownMechanism: a mechanism the daemons do not offer.
	ErrUnknownMechanism = errors.New("unsupported SASL mechanism")
)

// Limits of what a SASL exchange takes. No login name is longer than an
// address (RFC 5321 §4.5.3.1: 64 + 1 + 255 octets); no client sends a
// password near 1024 octets, and each one is hashed, so its size is
// bounded rather than left to the line length of each protocol.
const (
	maxIdentity = 320
	maxPassword = 1024
)

// ParsePlain parses a SASL PLAIN message (RFC 4616): authzid NUL authcid
// NUL passwd. It returns the login and password; ErrAuthzDenied, with the
// login, when the authorization identity names someone else; or
// ErrMalformed.
func ParsePlain(msg []byte) (user, password string, err error) {
	parts := bytes.Split(msg, []byte{0})
	if len(parts) != 3 {
		return "", "", ErrMalformed
	}
	authz, authc, pass := parts[0], parts[1], parts[2]
	if !validIdentity(authc) || len(authz) > maxIdentity || !validPassword(pass) {
		return "", "", ErrMalformed
	}
	if len(authz) > 0 && !bytes.Equal(authz, authc) {
		return string(authc), "", ErrAuthzDenied
	}
	return string(authc), string(pass), nil
}

// validIdentity reports whether b can be a login name: not empty, not
// too long, no NUL (PLAIN's separator, which LOGIN must not smuggle).
func validIdentity(b []byte) bool {
	return len(b) > 0 && len(b) <= maxIdentity && bytes.IndexByte(b, 0) < 0
}

// validPassword is validIdentity for a password (RFC 4616: 1*SAFE).
func validPassword(b []byte) bool {
	return len(b) > 0 && len(b) <= maxPassword && bytes.IndexByte(b, 0) < 0
}

// SASL returns the server side of mech (PLAIN or LOGIN, in any case) for
// this connection. The exchange ends in login(user, password), which the
// daemon writes around Password. reply maps every error of the exchange,
// those of login and the refusals above, to the daemon's protocol; nil
// leaves them as they are. An authorization identity that names someone
// else is logged as a refused login and answered after FailureDelay, as a
// failed login is.
func (l Login) SASL(mech string, login func(user, password string) error, reply func(error) error) (sasl.Server, error) {
	if reply == nil {
		reply = func(err error) error { return err }
	}
	s := &saslServer{l: l, login: login, reply: reply}
	switch strings.ToUpper(mech) {
	case MechPlain:
		s.next = s.plain
	case MechLogin:
		s.next = s.loginUser
	default:
		return nil, ErrUnknownMechanism
	}
	return s, nil
}

// saslServer runs one exchange; next is the step that takes the client's
// next response, nil once the exchange ended.
type saslServer struct {
	l     Login
	login func(user, password string) error
	reply func(error) error
	next  func(resp []byte) ([]byte, bool, error)
	user  string // LOGIN: the name given before the password
}

// Next implements sasl.Server. resp is nil when the client gave no
// initial response.
func (s *saslServer) Next(resp []byte) ([]byte, bool, error) {
	if s.next == nil {
		return nil, true, s.reply(ErrMalformed)
	}
	challenge, done, err := s.next(resp)
	if done {
		s.next = nil
		return nil, true, s.reply(err)
	}
	return challenge, false, nil
}

func (s *saslServer) plain(resp []byte) ([]byte, bool, error) {
	if resp == nil { // no initial response: an empty challenge asks for it
		return []byte{}, false, nil
	}
	user, pass, err := ParsePlain(resp)
	if errors.Is(err, ErrAuthzDenied) {
		s.l.refuse(user, "authorization identity")
	}
	if err != nil {
		return nil, true, err
	}
	return nil, true, s.login(user, pass)
}

// loginUser and loginPassword are LOGIN: the server asks "Username:" and
// then "Password:"; an initial response is the user name.
func (s *saslServer) loginUser(resp []byte) ([]byte, bool, error) {
	if resp == nil {
		return []byte("Username:"), false, nil
	}
	if !validIdentity(resp) {
		return nil, true, ErrMalformed
	}
	s.user = string(resp)
	s.next = s.loginPassword
	return []byte("Password:"), false, nil
}

func (s *saslServer) loginPassword(resp []byte) ([]byte, bool, error) {
	if !validPassword(resp) {
		return nil, true, ErrMalformed
	}
	return nil, true, s.login(s.user, string(resp))
}

var _ sasl.Server = (*saslServer)(nil)
