package main

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/shared/config"
	"mailsuite/shared/daemon"
)

func withLimits(lim config.ConnLimits) envOption {
	return func(s *server) { s.limiter = daemon.NewConnLimiter(lim) }
}

// dialFrom connects from a loopback address and reads the first line.
func (e *testEnv) dialFrom(from string) *testconn {
	e.t.Helper()
	c := testutil.DialFrom(e.t, from, e.addr)
	return &testconn{t: e.t, conn: c, r: bufio.NewReader(c)}
}

// TestConnLimitPerIP: past pop3d.max_connections_per_ip a client is
// refused with [SYS/TEMP] and closed, while another address, and the
// first one once a session ends, are served.
func TestConnLimitPerIP(t *testing.T) {
	e := newEnv(t, withPlaintext, withLimits(config.ConnLimits{Max: 10, PerIP: 2}))
	first := e.dialFrom("127.0.0.1")
	first.expect("+OK ")
	e.dialFrom("127.0.0.1").expect("+OK ")
	over := e.dialFrom("127.0.0.1")
	over.expect("-ERR [SYS/TEMP] too many connections")
	over.closed()
	// The implicit-TLS port shares the budget and closes without a word.
	tc := testutil.DialFrom(t, "127.0.0.1", e.tlsAddr)
	tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := tc.Read(make([]byte, 1)); err == nil {
		t.Fatalf("POP3S over the limit read %d bytes, want a close", n)
	}
	other := e.dialFrom("127.0.0.2")
	other.expect("+OK ")
	other.cmd("USER "+testUser, "+OK")
	other.cmd("PASS "+testPass, "+OK")

	first.cmd("QUIT", "+OK")
	first.closed()
	e.dialFrom("127.0.0.1").expect("+OK ")
}

// TestConnLimitTotal: pop3d.max_connections counts every address.
func TestConnLimitTotal(t *testing.T) {
	e := newEnv(t, withLimits(config.ConnLimits{Max: 1, PerIP: 5}))
	e.dialRaw().expect("+OK ")
	c := e.dialFrom("127.0.0.2")
	c.expect("-ERR [SYS/TEMP] too many connections")
	c.closed()
}

// noopUntilClosed sends cmd (a one-line reply, or CAPA) every 50ms until the server ends the session
// (at most 600 times) and returns its last line.
func noopUntilClosed(t *testing.T, c *testconn, cmd string) string {
	t.Helper()
	for range 600 {
		c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.conn.Write([]byte(cmd + "\r\n")); err != nil {
			t.Fatalf("write: %v", err)
		}
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (got %q)", err, l)
		}
		if strings.HasPrefix(l, "-ERR") {
			return strings.TrimSuffix(l, "\r\n")
		}
		if cmd == "CAPA" {
			c.multi()
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s loop kept the session open", cmd)
	return ""
}

// TestAutologoutNOOPLoop: NOOP, STAT and CAPA do not restart RFC 1939's
// autologout clock; a session repeating them is logged out with a reply
// that says so, and nothing is deleted.
func TestAutologoutNOOPLoop(t *testing.T) {
	e := newEnv(t, withPlaintext, func(s *server) { s.autologout = 2 * time.Second })
	e.deliver(msg("a", "x\r\n"))
	for _, cmd := range []string{"NOOP", "STAT"} {
		c := e.login()
		c.cmd("DELE 1", "+OK")
		if l := noopUntilClosed(t, c, cmd); !strings.HasPrefix(l, "-ERR autologout") {
			t.Fatalf("%s loop ended with %q", cmd, l)
		}
		c.closed()
	}
	c := e.dial()
	if l := noopUntilClosed(t, c, "CAPA"); !strings.HasPrefix(l, "-ERR autologout") {
		t.Fatalf("CAPA loop before login ended with %q", l)
	}
	if e.count() != 1 {
		t.Errorf("autologout deleted mail: %d messages left", e.count())
	}
}

// TestAutologoutIdle: a silent client is logged out too.
func TestAutologoutIdle(t *testing.T) {
	e := newEnv(t, func(s *server) { s.autologout = 100 * time.Millisecond })
	c := e.dial()
	c.expect("-ERR autologout")
	c.closed()
}
