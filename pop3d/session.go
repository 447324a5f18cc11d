package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"mailsuite/shared/daemon"
	"mailsuite/store"
)

// state is the RFC 1939 session state. UPDATE happens inside QUIT.
type state int

const (
	stateAuthorization state = 1 << iota
	stateTransaction
)

// maxDiscard bounds how much of an over-long line is read and thrown away
// before the session gives up on the client.
const maxDiscard = 64 << 10

var errLineTooLong = errors.New("line too long")

// session is one client connection. It is used by a single goroutine.
type session struct {
	srv  *server
	raw  net.Conn // the TCP connection, for deadlines
	conn net.Conn // raw, or the TLS connection on top of it
	r    *bufio.Reader
	w    *bufio.Writer
	ip   string
	log  *slog.Logger
	ctx  context.Context // the session's; store calls use op

	tls    bool
	state  state
	user   string           // from USER, waiting for PASS
	login  string           // logged-in address
	cred   store.Credential // as at login; see revoked
	stamp  store.CredentialStamp
	drop   *maildrop
	lock   *store.MaildropLock // taken at login; nil before
	errors int                 // consecutive error replies
	// active is when the client last made progress; the session ends at
	// active + srv.autologout (see progressed).
	active time.Time
	num    [20]byte // scratch for formatting sizes without allocating
}

func newSession(srv *server, c net.Conn) *session {
	ip := daemon.PeerIP(c.RemoteAddr())
	return &session{
		srv:    srv,
		raw:    c,
		conn:   c,
		r:      bufio.NewReaderSize(c, maxLine),
		w:      bufio.NewWriterSize(c, 32<<10),
		ip:     ip,
		log:    srv.log.With("ip", ip),
		ctx:    context.Background(),
		state:  stateAuthorization,
		active: time.Now(),
	}
}

// run greets the client and serves commands until QUIT, an error or
// shutdown. A session that ends without QUIT deletes nothing.
func (s *session) run() {
	defer func() { // s.lock is set at login
		if s.lock != nil {
			s.lock.Release()
		}
	}()
	s.reply("+OK %s POP3 server ready", s.srv.hostname)
	for {
		line, err := s.readLine()
		if errors.Is(err, errLineTooLong) {
			s.fail("-ERR line too long")
		} else if err != nil {
			s.hangUp(err)
			return
		} else if !s.dispatch(line) {
			s.w.Flush()
			return
		}
		if s.errors >= maxErrors {
			s.reply("-ERR too many errors, closing connection")
			s.w.Flush()
			return
		}
	}
}

// hangUp ends a session whose read failed: on shutdown or idle timeout it
// tells the client why; on a dropped connection there is nobody to tell.
func (s *session) hangUp(err error) {
	switch {
	case s.srv.closing.Load():
		s.reply("-ERR [SYS/TEMP] server shutting down, nothing was deleted")
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.reply("-ERR autologout: idle for too long, closing connection")
	default:
		return
	}
	s.raw.SetWriteDeadline(time.Now().Add(5 * time.Second))
	s.w.Flush()
}

// readLine flushes pending replies (unless more pipelined commands are
// already buffered) and reads one line without its line end. Bare LF is
// accepted as a line end.
func (s *session) readLine() ([]byte, error) {
	if s.r.Buffered() == 0 {
		s.raw.SetWriteDeadline(time.Now().Add(s.srv.autologout))
		if err := s.w.Flush(); err != nil {
			return nil, err
		}
	}
	s.raw.SetReadDeadline(s.active.Add(s.srv.autologout))
	if s.srv.closing.Load() {
		return nil, errors.New("shutting down")
	}
	line, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, s.discardLine()
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	// The command's own writes (RETR of a large message) get as long as
	// a session may idle.
	s.raw.SetWriteDeadline(time.Now().Add(s.srv.autologout))
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// discardLine skips the rest of an over-long line.
func (s *session) discardLine() error {
	for n := 0; n < maxDiscard; {
		chunk, err := s.r.ReadSlice('\n')
		n += len(chunk)
		if err == nil {
			return errLineTooLong
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
	return errors.New("over-long line without end")
}

// reply writes a response line; the buffer is flushed before the next
// read, so pipelined commands get their replies in one write.
func (s *session) reply(format string, args ...any) {
	fmt.Fprintf(s.w, format, args...)
	s.w.WriteString("\r\n")
}

// ok writes a +OK reply and resets the error count.
func (s *session) ok(format string, args ...any) {
	s.errors = 0
	s.reply("+OK "+format, args...)
}

// fail writes an -ERR reply (msg starts with "-ERR") and counts it.
func (s *session) fail(msg string, args ...any) {
	s.errors++
	s.reply(msg, args...)
}

// op returns the context of one store call: the session's, bounded by
// the server's opTimeout.
func (s *session) op() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.ctx, s.srv.opTimeout)
}

// internal logs an unexpected error and gives the client a generic reply
// that leaks nothing.
func (s *session) internal(what string, err error) {
	s.log.Error(what, "user", s.login, "err", err)
	s.failStore(err)
}

// failStore answers a command that a store error ended. A store call
// that ran out of time (another process holds the store's lock) is told
// apart from a broken store.
func (s *session) failStore(err error) {
	if errors.Is(err, context.DeadlineExceeded) {
		s.fail("-ERR [SYS/TEMP] mail store busy, try again later")
		return
	}
	s.fail("-ERR [SYS/TEMP] internal error, try again later")
}
