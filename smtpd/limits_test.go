package main

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/shared/config"
)

// refused dials addr from the loopback address from and checks that the
// connection gets the too-many-connections reply and is then closed.
func refused(t *testing.T, addr, from string) {
	t.Helper()
	c := testutil.DialFrom(t, from, addr)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	l, err := r.ReadString('\n')
	if !strings.HasPrefix(l, "421 4.7.0 mx.example.com Too many connections") {
		t.Fatalf("connection over the limit got %q (%v), want 421 4.7.0", l, err)
	}
	if l, err := r.ReadString('\n'); err == nil {
		t.Fatalf("refused connection still open, got %q", l)
	}
}

func limits(mx, sub config.ConnLimits) func(*config.Config) {
	return func(c *config.Config) {
		c.SMTPD.MaxConnections, c.SMTPD.MaxConnectionsPerIP = mx.Max, mx.PerIP
		c.SMTPD.SubmissionMaxConnections, c.SMTPD.SubmissionMaxConnectionsPerIP = sub.Max, sub.PerIP
	}
}

// TestConnLimitPerIP: past smtpd.max_connections_per_ip a client gets
// 421 and is closed, another address is still served, and a closed
// connection frees its slot.
func TestConnLimitPerIP(t *testing.T) {
	e := newEnv(t, limits(config.ConnLimits{Max: 10, PerIP: 3}, config.ConnLimits{Max: 10, PerIP: 3}))
	var open []*client
	for range 3 {
		open = append(open, dial(t, e.mx, "127.0.0.1", false))
	}
	refused(t, e.mx, "127.0.0.1")
	other := dial(t, e.mx, "127.0.0.2", false)
	other.ehlo()

	open[0].must(221, "QUIT")
	if _, err := open[0].tp.ReadLine(); err == nil {
		t.Fatal("connection open after QUIT")
	}
	c := dial(t, e.mx, "127.0.0.1", false)
	c.ehlo()
	c.must(250, "MAIL FROM:<a@example.net>")
	c.must(250, "RCPT TO:<%s>", alice)
}

// TestConnLimitTotal: smtpd.max_connections counts all addresses.
func TestConnLimitTotal(t *testing.T) {
	e := newEnv(t, limits(config.ConnLimits{Max: 2, PerIP: 5}, config.ConnLimits{Max: 10, PerIP: 5}))
	dial(t, e.mx, "127.0.0.1", false)
	dial(t, e.mx, "127.0.0.2", false)
	refused(t, e.mx, "127.0.0.3")
}

// TestMXFloodSparesSubmission: the MX port full, from one address and in
// all, does not keep that address's user off submission, plain or TLS.
func TestMXFloodSparesSubmission(t *testing.T) {
	e := newEnv(t, limits(config.ConnLimits{Max: 4, PerIP: 4}, config.ConnLimits{Max: 4, PerIP: 2}))
	for range 4 {
		dial(t, e.mx, "127.0.0.1", false)
	}
	refused(t, e.mx, "127.0.0.1")
	refused(t, e.mx, "127.0.0.2")

	c := dial(t, e.sub, "127.0.0.1", false)
	c.starttls()
	if code, msg := c.authPlain("", alice, userPass); code != 235 {
		t.Fatalf("AUTH: %d %s", code, msg)
	}
	c.must(250, "MAIL FROM:<%s>", alice)
	c.must(250, "RCPT TO:<%s>", carol)
	if code, msg := c.data(testBody("through the flood")); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	dial(t, e.subs, "127.0.0.1", true).ehlo()
	// 587 and 465 share one budget of two from this address.
	refused(t, e.sub, "127.0.0.1")
}

// TestIdleNOOPLoopEnds: NOOP, RSET, VRFY and HELP do not restart the idle
// clock; the session ends with 421 4.4.2 although every command came well
// within the per-command timeout.
func TestIdleNOOPLoopEnds(t *testing.T) {
	e := newEnvServer(t, func(s *server) { s.idle = 2 * time.Second })
	c := dial(t, e.mx, "127.0.0.1", false)
	c.ehlo()
	cmds := []string{"NOOP", "RSET", "VRFY postmaster", "HELP", "EHLO client.test"}
	for i := range 300 { // 30s at most
		if err := c.tp.PrintfLine("%s", cmds[i%len(cmds)]); err != nil {
			t.Fatalf("send: %v", err)
		}
		code, msg, err := c.tp.ReadResponse(0)
		if code == 421 {
			if !strings.HasPrefix(msg, "4.4.2 ") || !strings.Contains(msg, "timeout") {
				t.Errorf("timeout reply %d %q", code, msg)
			}
			if _, err := c.tp.ReadLine(); err == nil {
				t.Error("connection open after 421")
			}
			return
		}
		if err != nil && code == 0 {
			t.Fatalf("after %d commands: %v", i, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("NOOP loop kept the session open")
}

// TestIdleClockSparesSlowMessage: a message whose data takes longer than
// the idle clock, in pieces each within the per-read timeout, is accepted,
// and mail commands restart the clock.
func TestIdleClockSparesSlowMessage(t *testing.T) {
	const idle = 3 * time.Second
	e := newEnvServer(t, func(s *server) { s.idle = idle })
	c := dial(t, e.mx, "127.0.0.1", false)
	c.ehlo()
	c.must(250, "MAIL FROM:<a@example.net>")
	c.must(250, "RCPT TO:<%s>", alice)
	c.must(354, "DATA")
	for _, part := range []string{"Subject: slow\r\n", "\r\n", "line one\r\n"} {
		time.Sleep(idle / 2)
		if _, err := c.conn.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	c.conn.Write([]byte(".\r\n"))
	c.expect(250)
	c.must(250, "NOOP")
	if got := e.inbox(alice); len(got) != 1 || !strings.Contains(got[0], "line one") {
		t.Fatalf("INBOX = %q", got)
	}
}
