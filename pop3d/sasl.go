package main

import (
	"encoding/base64"
	"errors"
)

// cmdAUTH implements RFC 5034 AUTH with PLAIN and LOGIN. Without a
// mechanism it lists them, as some old clients expect. The mechanisms
// are the shared ones (auth.Login.SASL); this is only their POP3 framing:
// "+ challenge" lines, base64, "=" for an empty and "*" for a cancelled
// response.
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
	srv, err := s.loginPath().SASL(c.args[0], s.logIn, nil)
	if err != nil {
		s.fail("-ERR unsupported authentication mechanism")
		return true
	}
	var resp []byte // nil: no initial response
	if len(c.args) == 2 {
		if resp, err = decodeSASL(c.args[1]); err != nil {
			s.fail("-ERR [AUTH] invalid base64 in response")
			return true
		}
	}
	for {
		challenge, done, err := srv.Next(resp)
		if done || err != nil {
			s.replyLogin(err)
			return true
		}
		s.reply("+ %s", base64.StdEncoding.EncodeToString(challenge))
		line, err := s.readLine()
		if errors.Is(err, errLineTooLong) {
			s.fail("-ERR line too long")
			return true
		}
		if err != nil {
			return false
		}
		if string(line) == "*" {
			s.fail("-ERR authentication cancelled")
			return true
		}
		if resp, err = decodeSASL(string(line)); err != nil {
			s.fail("-ERR [AUTH] invalid base64 in response")
			return true
		}
	}
}

// decodeSASL decodes one client response; "=" is the empty one.
func decodeSASL(line string) ([]byte, error) {
	if line == "=" {
		return []byte{}, nil
	}
	return base64.StdEncoding.DecodeString(line)
}
