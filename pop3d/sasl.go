package main

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// cmdAUTH implements RFC 5034 AUTH with PLAIN and LOGIN. Without a
// mechanism it lists them, as some old clients expect.
func (s *session) cmdAUTH(c command) bool {
	if !s.loginAllowed() {
		s.refusePlaintext("")
		return true
	}
	if len(c.args) == 0 {
		s.ok("supported mechanisms follow")
		s.reply("PLAIN\r\nLOGIN\r\n.")
		return true
	}
	initial, hasInitial := "", len(c.args) == 2
	if hasInitial {
		initial = c.args[1]
	}
	switch strings.ToUpper(c.args[0]) {
	case "PLAIN":
		return s.authPlain(initial, hasInitial)
	case "LOGIN":
		return s.authLogin(initial, hasInitial)
	}
	s.fail("-ERR unsupported authentication mechanism")
	return true
}

func (s *session) authPlain(initial string, hasInitial bool) bool {
	resp, ok, alive := s.saslResponse("", initial, hasInitial)
	if !ok {
		return alive
	}
	parts := bytes.Split(resp, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 {
		s.fail("-ERR [AUTH] malformed PLAIN response")
		return true
	}
	authz, user, pass := string(parts[0]), string(parts[1]), string(parts[2])
	// An authorization identity other than the login would let one user
	// act as another; refuse it rather than ignore it.
	if authz != "" && authz != user {
		s.delay()
		s.fail("-ERR [AUTH] authorization identity must be empty or the login")
		return true
	}
	s.authenticate(user, pass)
	return true
}

func (s *session) authLogin(initial string, hasInitial bool) bool {
	user, ok, alive := s.saslResponse("VXNlcm5hbWU6", initial, hasInitial) // "Username:"
	if !ok {
		return alive
	}
	pass, ok, alive := s.saslResponse("UGFzc3dvcmQ6", "", false) // "Password:"
	if !ok {
		return alive
	}
	s.authenticate(string(user), string(pass))
	return true
}

// saslResponse returns the decoded client response: the initial response
// if one was given ("=" means empty), else one read after a "+ challenge"
// line. ok is false when it replied with an error; alive is false when the
// connection is gone.
func (s *session) saslResponse(challenge, initial string, hasInitial bool) (resp []byte, ok, alive bool) {
	line := initial
	if !hasInitial {
		s.reply("+ %s", challenge)
		b, err := s.readLine()
		if err != nil {
			if err == errLineTooLong {
				s.fail("-ERR line too long")
				return nil, false, true
			}
			return nil, false, false
		}
		line = string(b)
	}
	if line == "*" {
		s.fail("-ERR authentication cancelled")
		return nil, false, true
	}
	if line == "=" {
		return nil, true, true
	}
	resp, err := base64.StdEncoding.DecodeString(line)
	if err != nil {
		s.fail("-ERR [AUTH] invalid base64 in response")
		return nil, false, true
	}
	return resp, true, true
}
