package main

import (
	"bufio"
	"crypto/tls"
	"time"
)

// handshakeTimeout bounds a TLS handshake.
const handshakeTimeout = 30 * time.Second

// cmdSTLS upgrades the connection to TLS (RFC 2595).
func (s *session) cmdSTLS(c command) bool {
	if !s.wantArgs(c, 0, 0) {
		return true
	}
	if s.tls {
		s.fail("-ERR already using TLS")
		return true
	}
	if s.srv.tls == nil {
		s.fail("-ERR STLS not available")
		return true
	}
	s.ok("begin TLS negotiation")
	if err := s.w.Flush(); err != nil {
		return false
	}
	return s.startTLS()
}

// startTLS runs the server handshake and switches the session onto the
// TLS connection. Anything the client pipelined in plaintext after STLS
// is discarded with the old reader, so it cannot be injected into the
// protected session.
func (s *session) startTLS() bool {
	tc := tls.Server(s.raw, s.srv.tls)
	s.raw.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.Handshake(); err != nil {
		s.log.Debug("TLS handshake failed", "err", err)
		return false
	}
	s.conn = tc
	s.r = bufio.NewReaderSize(tc, maxLine)
	s.w.Reset(tc)
	s.tls = true
	s.user = ""
	return true
}
