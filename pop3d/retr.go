package main

import (
	"errors"

	"mailsuite/store"
)

func (s *session) cmdRETR(c command) bool {
	if !s.wantArgs(c, 1, 1) {
		return true
	}
	i, ok := s.message(c.args[0])
	if !ok {
		return true
	}
	return s.send(i, -1)
}

// cmdTOP sends a message's header and the first n lines of its body.
func (s *session) cmdTOP(c command) bool {
	if !s.wantArgs(c, 2, 2) {
		return true
	}
	i, ok := s.message(c.args[0])
	if !ok {
		return true
	}
	n, ok := parseNumber(c.args[1])
	if !ok {
		s.fail("-ERR invalid line count %q", truncate(c.args[1], 20))
		return true
	}
	return s.send(i, n)
}

// send writes message i (bodyLines < 0: all of it). A message expunged by
// another client (IMAP) since login is reported, not sent. A write error
// means the client is gone; nothing was deleted.
func (s *session) send(i, bodyLines int) bool {
	m := s.drop.msgs[i]
	body, err := s.srv.store.MessageBody(s.ctx, s.drop.mailboxID, m.UID)
	if errors.Is(err, store.ErrNotFound) {
		s.fail("-ERR message %d was removed by another session", i+1)
		return true
	}
	if err != nil {
		s.internal("read message", err)
		return true
	}
	if bodyLines < 0 {
		s.ok("%d octets", m.Size)
	} else {
		s.ok("top of message follows")
	}
	return writeMessage(s.w, body, bodyLines) == nil
}
