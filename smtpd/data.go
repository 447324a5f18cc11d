package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/emersion/go-smtp"

	"mailsuite/smtpd/policy"
	"mailsuite/store"
)

// dataTimeout bounds each read of the message data; see commandTimeout.
const dataTimeout = 5 * time.Minute

// commitTimeout bounds waiting for the store to take the message.
const commitTimeout = time.Minute

// Data reads the whole message, checks it, adds trace headers and commits
// it to the store in one transaction. It returns nil, and go-smtp says 250,
// only once the message is durable in every local INBOX and the queue.
func (s *session) Data(r io.Reader) (err error) {
	defer func() { s.countData(err) }()
	if !s.srv.busy.begin() {
		io.Copy(io.Discard, r)
		return errShuttingDown
	}
	s.inData = true // ended by Reset, after go-smtp has written the reply
	idle := trackedOf(s.conn)
	idle.data(true)
	defer idle.data(false)
	body, err := readSpool(&deadlineReader{r: r, conn: s.conn}, s.srv.spoolDir)
	if err != nil {
		return s.readError(err)
	}
	defer body.Close()
	id := messageID()
	ar, junk, serr := s.inbound(id, body)
	if serr != nil {
		s.srv.log.Info("message refused", "id", id, "ip", s.ip, "from", s.tx.from, "checks", s.tx.checks, "reply", serr.Message)
		return serr
	}
	trace := concat(ar, s.received(id, time.Now()))
	env := store.Envelope{From: s.tx.from, Local: s.tx.local, Remote: s.tx.remote, Junk: junk,
		Sending: s.sendingEnvelope(body)}
	if len(s.tx.local) > 0 {
		env.LocalPrefix = []byte("Return-Path: <" + s.tx.from + ">\r\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	trace = s.withDKIM(ctx, id, body, trace)
	if serr := s.dataQuota(ctx, len(env.LocalPrefix)+len(trace)+int(body.Len())); serr != nil {
		s.srv.log.Info("message refused", "id", id, "ip", s.ip, "from", s.tx.from, "reply", serr.Message)
		return serr
	}
	if body.file == nil {
		err = s.srv.st.Accept(ctx, env, concat(trace, body.buf))
	} else {
		err = s.srv.st.AcceptSpooled(ctx, env, body.stored(trace))
	}
	if err != nil {
		return storeFailure(s.srv.log, "message not stored", err, "id", id, "ip", s.ip, "from", s.tx.from)
	}
	s.logAccepted(id, body.Len(), junk)
	if len(s.tx.remote) > 0 && s.srv.kick != nil {
		s.srv.kick()
	}
	if s.tx.from == "" {
		s.srv.bounceStorms(ctx, s.tx.local)
	}
	return nil
}

// readError maps a failure while reading the data. A message that was cut
// off is never stored.
func (s *session) readError(err error) error {
	var serr *smtp.SMTPError
	switch {
	case errors.As(err, &serr): // too large (552 5.3.4), bare CR or LF, NUL (550 5.6.0)
		s.srv.log.Info("message refused", "ip", s.ip, "from", s.tx.from, "reply", serr.Message)
		return serr
	case errors.Is(err, errSpool):
		return storeFailure(s.srv.log, "message not stored", err, "ip", s.ip, "from", s.tx.from)
	case errors.Is(err, smtp.ErrTooLongLine):
		return errLineTooLong
	}
	s.srv.log.Info("message aborted", "ip", s.ip, "from", s.tx.from, "err", err)
	return errDataRead
}

// received builds the Received header (RFC 5321 §4.4): the client's HELO
// name as it gave it, its IP from the connection, TLS and how it was
// permitted to send.
func (s *session) received(id string, now time.Time) []byte {
	proto := "ESMTP"
	if s.tls != nil {
		proto += "S"
	}
	if s.cred != nil {
		proto += "A"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Received: from %s ([%s])\r\n\tby %s (mailsuite smtpd) with %s id %s",
		policy.Printable(headerWord(s.helo), 100), s.ip, s.srv.cfg.Hostname, proto, id)
	var notes []string
	if s.tls != nil {
		notes = append(notes, tls.VersionName(s.tls.Version)+" "+tls.CipherSuiteName(s.tls.CipherSuite))
	}
	switch {
	case s.cred != nil:
		notes = append(notes, "authenticated as "+s.cred.Name)
	case s.tx.mail.Via == "grant":
		notes = append(notes, "POP/IMAP-before-SMTP")
	}
	for i, n := range notes {
		if i == 0 {
			b.WriteString("\r\n\t(")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(n)
		if i == len(notes)-1 {
			b.WriteString(")")
		}
	}
	fmt.Fprintf(&b, ";\r\n\t%s\r\n", now.Format(time.RFC1123Z))
	return b.Bytes()
}

// headerWord keeps a client-chosen word safe inside a header: no spaces,
// parentheses or control characters.
func headerWord(s string) string {
	b := []byte(policy.Printable(s, 100))
	for i, c := range b {
		if c == ' ' || c == '(' || c == ')' || c == ';' {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "unknown"
	}
	return string(b)
}

func (s *session) logAccepted(id string, size int64, junk bool) {
	args := []any{"id", id, "ip", s.ip, "port", s.role.String(), "from", s.tx.from,
		"rcpts", fmt.Sprint(s.tx.rcpts), "local", len(s.tx.local), "remote", len(s.tx.remote), "size", size}
	if s.tx.checks != "" {
		args = append(args, "checks", s.tx.checks)
	}
	if junk {
		args = append(args, "junk", true)
	}
	switch {
	case s.cred != nil:
		args = append(args, "auth", s.cred.Name)
	case s.tx.mail.Via == "grant":
		args = append(args, "grant", fmt.Sprint(s.tx.id.Granted))
	}
	s.srv.log.Info("accepted", args...)
}

func concat(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// messageID names one accepted message in the log and its Received line.
func messageID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// deadlineReader extends the connection's read deadline before each read,
// so the data phase times out only when the client stalls.
type deadlineReader struct {
	r    io.Reader
	conn net.Conn
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	d.conn.SetReadDeadline(time.Now().Add(dataTimeout))
	return d.r.Read(p)
}
