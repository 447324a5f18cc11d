package main

import (
	"bytes"
	"errors"
	"strconv"

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
	var copied []byte
	var werr error
	inBuffer := false
	ctx, cancel := s.op()
	defer cancel()
	err := s.srv.store.POP3Body(ctx, s.drop.mailboxID, m, func(body []byte) {
		// The common small message goes straight from the driver's buffer
		// into the reply buffer: at worst the reply doubles the body (bare
		// LF to CRLF, dot-stuffing), and if that fits, no network write
		// happens while the database read is open. A larger one is copied
		// and sent after the read ends.
		if 2*len(body)+maxReplyLine > s.w.Available() {
			copied = bytes.Clone(body)
			return
		}
		inBuffer = true
		s.okSize(m.Size, bodyLines)
		werr = writeMessage(s.w, body, bodyLines)
	})
	if errors.Is(err, store.ErrNotFound) {
		s.fail("-ERR message %d was removed by another session", i+1)
		return true
	}
	if err != nil {
		s.internal("read message", err)
		return true
	}
	if inBuffer {
		return werr == nil
	}
	s.okSize(m.Size, bodyLines)
	return writeMessage(s.w, copied, bodyLines) == nil
}

// maxReplyLine bounds the status line and the terminating "." of a
// RETR or TOP reply.
const maxReplyLine = 64

// okSize writes the status line of RETR ("+OK <size> octets") or TOP.
func (s *session) okSize(size int64, bodyLines int) {
	if bodyLines >= 0 {
		s.ok("top of message follows")
		return
	}
	s.errors = 0
	s.w.WriteString("+OK ")
	s.w.Write(strconv.AppendInt(s.num[:0], size, 10))
	s.w.WriteString(" octets\r\n")
}
