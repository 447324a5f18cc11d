package main

import (
	"bytes"

	"github.com/emersion/go-sasl"
)

// checkFunc verifies a login and password; it returns nil or an
// *smtp.SMTPError to send.
type checkFunc func(login, password string) error

// plainServer is SASL PLAIN (RFC 4616). Unlike go-sasl's, it refuses an
// authorization identity that differs from the login (acting as another
// user is exactly what must never work) and answers malformed data with a
// 501 rather than a temporary error.
type plainServer struct {
	check checkFunc
	done  bool
}

func (p *plainServer) Next(resp []byte) ([]byte, bool, error) {
	if p.done {
		return nil, true, errMalformedAuth
	}
	if resp == nil { // no initial response: send an empty challenge
		return []byte{}, false, nil
	}
	p.done = true
	parts := bytes.Split(resp, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 {
		return nil, true, errMalformedAuth
	}
	authz, login, pass := string(parts[0]), string(parts[1]), string(parts[2])
	if authz != "" && authz != login {
		return nil, true, errAuthzMismatch
	}
	return nil, true, p.check(login, pass)
}

// loginServer is the obsolete but ubiquitous LOGIN mechanism (Outlook and
// Outlook Express use it; go-sasl has no server for it): the server asks
// "Username:" then "Password:", each answer base64 on its own line. An
// initial response, if given, is the user name.
type loginServer struct {
	check checkFunc
	state int // 0: want user name, 1: want password, 2: done
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.state {
	case 0:
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		l.user = string(resp)
		l.state = 1
		return []byte("Password:"), false, nil
	case 1:
		l.state = 2
		if l.user == "" {
			return nil, true, errMalformedAuth
		}
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, true, errMalformedAuth
}

var (
	_ sasl.Server = (*plainServer)(nil)
	_ sasl.Server = (*loginServer)(nil)
)
