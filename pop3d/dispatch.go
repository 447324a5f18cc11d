package main

import (
	"bytes"
	"errors"
)

// handler runs one command and returns false to close the connection.
type handler struct {
	states state // states in which the command is valid
	run    func(s *session, c command) bool
}

var handlers map[string]handler

func init() {
	both := stateAuthorization | stateTransaction
	handlers = map[string]handler{
		"CAPA": {both, (*session).cmdCAPA},
		"QUIT": {both, (*session).cmdQUIT},
		"USER": {stateAuthorization, (*session).cmdUSER},
		"PASS": {stateAuthorization, (*session).cmdPASS},
		"AUTH": {stateAuthorization, (*session).cmdAUTH},
		"STLS": {stateAuthorization, (*session).cmdSTLS},
		"STAT": {stateTransaction, (*session).cmdSTAT},
		"LIST": {stateTransaction, (*session).cmdLIST},
		"UIDL": {stateTransaction, (*session).cmdUIDL},
		"RETR": {stateTransaction, (*session).cmdRETR},
		"TOP":  {stateTransaction, (*session).cmdTOP},
		"DELE": {stateTransaction, (*session).cmdDELE},
		"RSET": {stateTransaction, (*session).cmdRSET},
		"NOOP": {stateTransaction, (*session).cmdNOOP},
	}
}

// dispatch parses a line and runs its command.
func (s *session) dispatch(line []byte) bool {
	first, _, _ := bytes.Cut(line, []byte(" "))
	if isHTTPVerb(string(first)) {
		s.reply("-ERR this is a POP3 server")
		return false
	}
	c, err := parseCommand(line)
	switch {
	case errors.Is(err, errKeyword), errors.Is(err, errEmpty):
		s.fail("-ERR unknown command")
		return true
	case err != nil:
		s.fail("-ERR %s", err.Error())
		return true
	}
	h, ok := handlers[c.name]
	if !ok {
		s.fail("-ERR unknown command")
		return true
	}
	if h.states&s.state == 0 {
		if s.state == stateAuthorization {
			s.fail("-ERR %s is not valid before login", c.name)
		} else {
			s.fail("-ERR %s is not valid after login", c.name)
		}
		return true
	}
	open := h.run(s, c)
	s.progressed(c.name)
	return open
}

// wantArgs checks the argument count and replies when it is wrong.
func (s *session) wantArgs(c command, min, max int) bool {
	switch {
	case len(c.args) < min:
		s.fail("-ERR %s: missing argument", c.name)
		return false
	case len(c.args) > max:
		s.fail("-ERR %s: too many arguments", c.name)
		return false
	}
	return true
}

// message resolves a message-number argument to an index into the
// maildrop, replying when it is invalid or deleted.
func (s *session) message(arg string) (int, bool) {
	n, ok := parseNumber(arg)
	if !ok {
		s.fail("-ERR invalid message number %q", truncate(arg, 20))
		return 0, false
	}
	if n < 1 || n > len(s.drop.msgs) {
		s.fail("-ERR no such message")
		return 0, false
	}
	if s.drop.deleted[n-1] {
		s.fail("-ERR message %d already deleted", n)
		return 0, false
	}
	return n - 1, true
}

// truncate shortens client text echoed back in replies.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
