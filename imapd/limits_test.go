package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/shared/config"
)

func withServer(f func(*server)) func(*envConfig) {
	return func(c *envConfig) { c.server = f }
}

func withLimits(lim config.ConnLimits) func(*envConfig) {
	return func(c *envConfig) {
		c.config = func(cfg *config.Config) {
			cfg.IMAPD.MaxConnections, cfg.IMAPD.MaxConnectionsPerIP = lim.Max, lim.PerIP
		}
	}
}

// dialFrom connects to addr from a loopback address and returns the
// connection with its first line.
func (e *testEnv) dialFrom(from, addr string) (*textConn, string) {
	e.t.Helper()
	c := testutil.DialFrom(e.t, from, addr)
	tc := &textConn{t: e.t, c: c, r: bufio.NewReader(c)}
	return tc, tc.line()
}

// closed checks that the server closed the connection.
func (tc *textConn) closed() {
	tc.t.Helper()
	tc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if l, err := tc.r.ReadString('\n'); err == nil {
		tc.t.Fatalf("connection still open, got %q", l)
	}
}

// TestConnLimitPerIP: past imapd.max_connections_per_ip a client gets
// "* BYE Too many connections" and is closed (on the TLS port, closed
// without a word), another address is served, and a logout frees a slot.
func TestConnLimitPerIP(t *testing.T) {
	e := newEnv(t, withPlaintext, withLimits(config.ConnLimits{Max: 10, PerIP: 2}))
	first, l := e.dialFrom("127.0.0.1", e.addr)
	if !strings.HasPrefix(l, "* OK") {
		t.Fatalf("greeting %q", l)
	}
	e.dialFrom("127.0.0.1", e.addr)
	over, l := e.dialFrom("127.0.0.1", e.addr)
	if !strings.HasPrefix(l, "* BYE Too many connections") {
		t.Fatalf("connection over the limit got %q", l)
	}
	over.closed()
	tc := tls.Client(testutil.DialFrom(t, "127.0.0.1", e.tlsAddr), e.tlsConf)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err == nil {
		t.Fatal("IMAPS over the limit completed a handshake")
	}

	other, l := e.dialFrom("127.0.0.2", e.addr)
	if !strings.HasPrefix(l, "* OK") {
		t.Fatalf("127.0.0.2 got %q", l)
	}
	other.login()

	first.cmd("LOGOUT")
	first.closed()
	if _, l := e.dialFrom("127.0.0.1", e.addr); !strings.HasPrefix(l, "* OK") {
		t.Fatalf("after a logout 127.0.0.1 got %q", l)
	}
}

// TestConnLimitTotal: imapd.max_connections counts every address.
func TestConnLimitTotal(t *testing.T) {
	e := newEnv(t, withLimits(config.ConnLimits{Max: 1, PerIP: 5}))
	e.dialFrom("127.0.0.1", e.addr)
	c, l := e.dialFrom("127.0.0.2", e.addr)
	if !strings.HasPrefix(l, "* BYE Too many connections") {
		t.Fatalf("got %q", l)
	}
	c.closed()
}

// byeAfterLoop repeats cmd every 50ms until the server says BYE (at most
// 600 times) and returns the BYE line.
func byeAfterLoop(t *testing.T, tc *textConn, cmd string) string {
	t.Helper()
	for i := range 600 {
		tag := fmt.Sprintf("n%d", i)
		tc.send(tag + " " + cmd + "\r\n")
		for {
			l := tc.line()
			if strings.HasPrefix(l, "* BYE") {
				return l
			}
			if strings.HasPrefix(l, tag+" ") {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s loop kept the session open", cmd)
	return ""
}

// TestAutologoutNOOPLoop: NOOP, CHECK and CAPABILITY do not restart the
// autologout timer, before login or in a selected mailbox; the session
// ends with "* BYE Autologout".
func TestAutologoutNOOPLoop(t *testing.T) {
	e := newEnv(t, withPlaintext, withServer(func(s *server) { s.autologout = 2 * time.Second }))
	for _, cmd := range []string{"NOOP", "CAPABILITY"} {
		tc := e.dial()
		if l := byeAfterLoop(t, tc, cmd); !strings.Contains(l, "Autologout") {
			t.Fatalf("%s loop before login ended with %q", cmd, l)
		}
		tc.closed()
	}
	tc := e.dial()
	tc.login()
	if _, r := tc.cmd("SELECT INBOX"); !strings.HasPrefix(r, "OK") {
		t.Fatalf("SELECT: %s", r)
	}
	if l := byeAfterLoop(t, tc, "CHECK"); !strings.Contains(l, "Autologout") {
		t.Fatalf("CHECK loop ended with %q", l)
	}
	tc.closed()
}

// TestAutologoutSilent: a client that sends nothing is told why it is
// closed, where go-imap used to close without a word.
func TestAutologoutSilent(t *testing.T) {
	e := newEnv(t, withPlaintext, withServer(func(s *server) { s.autologout = 2 * time.Second }))
	tc := e.dial()
	tc.login()
	if l := tc.line(); !strings.HasPrefix(l, "* BYE Autologout") {
		t.Fatalf("got %q", l)
	}
	tc.closed()
}

// TestAutologoutSparesIDLE: IDLE longer than the autologout timer is
// legitimate (it has its own, longer timeout), and its end restarts the
// timer.
func TestAutologoutSparesIDLE(t *testing.T) {
	const autologout = 3 * time.Second
	e := newEnv(t, withPlaintext, withServer(func(s *server) { s.autologout = autologout }))
	tc := e.dial()
	tc.login()
	if _, r := tc.cmd("SELECT INBOX"); !strings.HasPrefix(r, "OK") {
		t.Fatalf("SELECT: %s", r)
	}
	tc.send("i1 IDLE\r\n")
	if l := tc.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %q", l)
	}
	time.Sleep(autologout * 3 / 2)
	tc.send("DONE\r\n")
	for {
		l := tc.line()
		if strings.HasPrefix(l, "i1 ") {
			if !strings.HasPrefix(l, "i1 OK") {
				t.Fatalf("IDLE ended with %q", l)
			}
			break
		}
		if strings.HasPrefix(l, "* BYE") {
			t.Fatalf("IDLE cut off: %q", l)
		}
	}
	if _, r := tc.cmd("NOOP"); !strings.HasPrefix(r, "OK") {
		t.Fatalf("NOOP after IDLE: %s", r)
	}
}

// TestIdleTimeoutBye: an IDLE past its timeout is logged out with a BYE,
// not answered "Internal server error" and kept open.
func TestIdleTimeoutBye(t *testing.T) {
	e := newEnv(t, withPlaintext, withServer(func(s *server) { s.idleTimeout = 300 * time.Millisecond }))
	tc := e.dial()
	tc.login()
	tc.send("i1 IDLE\r\n")
	if l := tc.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %q", l)
	}
	if l := tc.line(); !strings.HasPrefix(l, "* BYE Autologout") {
		t.Fatalf("IDLE timeout: %q", l)
	}
	tc.closed()
}
