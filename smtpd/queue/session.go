package queue

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"mailsuite/shared/mtasts"
)

// session is an open SMTP connection to one remote host, greeted and,
// when the host offered it, encrypted.
type session struct {
	c    *smtp.Client
	conn net.Conn // the TCP connection, closed to abandon the session
	mta  string   // the host's name, for logs and Remote-MTA
	tls  bool
	used int         // transactions started on this connection
	stop func() bool // undoes the close-on-cancel hook
}

// errTLS marks a failed STARTTLS: with plain fallback the host is tried
// again without it.
var errTLS = errors.New("STARTTLS failed")

// open connects to addr ("ip:port") of the host called name and prepares
// it for mail: greeting, EHLO, STARTTLS when offered (unless plain), EHLO
// again. Cancelling ctx closes the connection, which abandons whatever
// the session is doing. An MTA-STS policy p (nil: none) decides how the
// host's certificate is checked, and under enforce requires STARTTLS.
func (r *Runner) open(ctx context.Context, name, addr string, plain bool, p *stsPolicy) (*session, error) {
	t := r.timeouts
	dctx, cancel := context.WithTimeout(ctx, t.Connect)
	raw, err := r.dialer.DialContext(dctx, "tcp", addr)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("connect to %s[%s]: %w", name, addr, err)
	}
	conn := &blockConn{Conn: raw, block: t.DataBlock}
	s := &session{conn: raw, mta: name, stop: context.AfterFunc(ctx, func() { raw.Close() })}
	if err := r.handshake(s, conn, plain, p); err != nil {
		s.close()
		return nil, fmt.Errorf("%s[%s]: %w", name, addr, err)
	}
	return s, nil
}

// handshake reads the greeting and says EHLO itself, to learn whether
// STARTTLS is offered: go-smtp's client can only start TLS by itself
// saying EHLO as "localhost". Then go-smtp takes over the connection, fed
// a copy of the greeting it did not see, and says EHLO as our hostname.
func (r *Runner) handshake(s *session, conn net.Conn, plain bool, p *stsPolicy) error {
	t := r.timeouts
	tp := textproto.NewConn(conn)
	conn.SetDeadline(time.Now().Add(t.Greeting))
	if _, _, err := tp.ReadResponse(220); err != nil {
		return fmt.Errorf("greeting: %s", describe(err))
	}
	conn.SetDeadline(time.Now().Add(t.Command))
	starttls := false
	if _, msg, err := cmd(tp, 250, "EHLO %s", r.cfg.Hostname); err == nil {
		starttls = offers(msg, "STARTTLS")
	} else if code := replyCode(err); code != 500 && code != 502 {
		return fmt.Errorf("EHLO: %s", describe(err))
	}
	var next net.Conn = conn
	var rd io.Reader = tp.R // anything the server sent early is in tp's buffer
	if p != nil && p.Mode == mtasts.Enforce && !starttls {
		return fmt.Errorf("MTA-STS policy of %s (enforce) requires TLS: no STARTTLS offered", p.domain)
	}
	if starttls && !plain {
		conn.SetDeadline(time.Now().Add(t.Command))
		if _, _, err := cmd(tp, 220, "STARTTLS"); err != nil {
			return fmt.Errorf("%w: %s", errTLS, describe(err))
		}
		conn.SetDeadline(time.Now().Add(t.Command))
		cfg := r.tlsConfig(s.mta)
		if p != nil {
			cfg = r.stsTLS(s.mta, p)
		}
		tc := tls.Client(conn, cfg)
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("%w: handshake: %w", errTLS, err)
		}
		next, rd, s.tls = tc, tc, true
	}
	conn.SetDeadline(time.Time{})
	c := smtp.NewClient(&greetedConn{Conn: next, r: io.MultiReader(strings.NewReader("220 greeted\r\n"), rd)})
	c.CommandTimeout = t.Command
	c.SubmissionTimeout = t.DataEnd
	s.c = c
	if err := c.Hello(r.cfg.Hostname); err != nil {
		return fmt.Errorf("EHLO: %s", describe(err))
	}
	return nil
}

// tlsConfig is opportunistic TLS: an MX host's certificate is not
// verified (RFC 7435: encryption without authentication beats plain
// text, and most MX certificates would fail a strict check).
func (r *Runner) tlsConfig(name string) *tls.Config {
	c := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	if net.ParseIP(name) == nil {
		c.ServerName = name
	}
	return c
}

// greetedConn replays bytes already read (the greeting, a buffer) before
// reading the connection again.
type greetedConn struct {
	net.Conn
	r io.Reader
}

func (g *greetedConn) Read(p []byte) (int, error) { return g.r.Read(p) }

// cmd sends one command and reads its reply.
func cmd(tp *textproto.Conn, expect int, format string, args ...any) (int, string, error) {
	id, err := tp.Cmd(format, args...)
	if err != nil {
		return 0, "", err
	}
	tp.StartResponse(id)
	defer tp.EndResponse(id)
	return tp.ReadResponse(expect)
}

// offers reports whether an EHLO reply lists the extension.
func offers(ehlo, ext string) bool {
	lines := strings.Split(ehlo, "\n")
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > 0 && strings.EqualFold(f[0], ext) {
			return true
		}
	}
	return false
}

// close ends the session without QUIT.
func (s *session) close() {
	s.stop()
	s.conn.Close()
}

// quit says goodbye politely, briefly, and closes.
func (s *session) quit() {
	s.c.CommandTimeout = min(s.c.CommandTimeout, 10*time.Second)
	s.c.Quit()
	s.close()
}
