package e2e

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailsuite/internal/scrape"
)

// TestMetricsLive: the three built daemons with their metrics keys set
// serve /metrics, and the counters move with real SMTP, POP3 and IMAP
// sessions: a message accepted, a relay refused, logins that succeed and
// fail, a grant, a relay through it, a deferral and a delivery, the open
// sessions of a listener. SIGTERM closes the metrics port with the daemon.
func TestMetricsLive(t *testing.T) {
	mx := newFakeMX(t)
	mx.setDown(true) // the first attempt is deferred
	s := newSuite(t)
	s.metrics = map[string]int{"smtpd": freePort(t), "pop3d": freePort(t), "imapd": freePort(t)}
	s.route("remote.test", mx.addr())
	s.addUser("alice@example.test", "secret-one")
	s.start("smtpd", "pop3d", "imapd")
	url := func(d string) string { return fmt.Sprintf("http://%s/metrics", addr(s.metrics[d])) }
	get := func(d string) map[string]float64 {
		t.Helper()
		var got map[string]float64
		var err error
		// The metrics port opens a moment after the mail ports.
		eventually(20*time.Second, func() bool { got, err = scrape.TryGet(url(d)); return err == nil })
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		return got
	}
	for _, d := range []string{"smtpd", "pop3d", "imapd"} {
		got := get(d)
		if _, ok := got["go_goroutines"]; !ok {
			t.Errorf("%s serves no Go runtime metrics", d)
		}
		if !strings.Contains(s.logOf(d), "serving metrics") {
			t.Errorf("%s did not log its metrics address", d)
		}
		s.wantListening(t, d, append(s.daemonPorts(d), s.metrics[d])...)
	}
	if got := get("smtpd"); got["mailsuite_queue_messages"] != 0 || got["mailsuite_grants_live"] != 0 {
		t.Fatalf("fresh store: queue %v, grants %v", got["mailsuite_queue_messages"], got["mailsuite_grants_live"])
	}

	// Inbound mail for a local user, then a relay attempt without AUTH or
	// grant; the session stays open while smtpd is scraped.
	c, err := smtp.Dial(addr(s.ports.SMTP))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("someone@elsewhere.test", []string{"alice@example.test"},
		strings.NewReader("Subject: in\r\n\r\nhello\r\n")); err != nil {
		t.Fatal(err)
	}
	var serr *smtp.SMTPError
	if err := c.Mail("someone@elsewhere.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("friend@remote.test", nil); !errors.As(err, &serr) || serr.Code != 554 {
		t.Fatalf("relay without auth: %v, want 554", err)
	}
	got := get("smtpd")
	want(t, "smtpd", got, map[string]float64{
		`mailsuite_smtp_messages_accepted_total{role="mx"}`:                      1,
		`mailsuite_smtp_messages_refused_total{reason="relay_denied",role="mx"}`: 1,
		`mailsuite_smtp_relay_decisions_total{route="refused"}`:                  1,
		`mailsuite_sessions_open{listener="smtpd.listen"}`:                       1,
	})
	if got["mailsuite_store_commit_seconds_count"] < 1 {
		t.Errorf("smtpd: no store commit counted for a stored message")
	}
	c.Quit()
	if !eventually(20*time.Second, func() bool {
		return get("smtpd")[`mailsuite_sessions_open{listener="smtpd.listen"}`] == 0
	}) {
		t.Error("smtpd: the closed session is still counted open")
	}

	// POP3: a wrong password, then the right one (which grants relaying).
	pop := lineConn(t, s.ports.POP3)
	pop.expect("+OK")
	pop.cmd("USER alice@example.test", "+OK")
	pop.cmd("PASS wrong-password", "-ERR")
	pop.cmd("USER alice@example.test", "+OK")
	pop.cmd("PASS secret-one", "+OK")
	want(t, "pop3d", get("pop3d"), map[string]float64{
		`mailsuite_logins_total{protocol="pop3",result="ok"}`:     1,
		`mailsuite_logins_total{protocol="pop3",result="failed"}`: 1,
		`mailsuite_sessions_open{listener="pop3d.listen"}`:        1,
	})
	pop.cmd("QUIT", "+OK")

	imap := lineConn(t, s.ports.IMAP)
	imap.expect("* OK")
	imap.cmd("a LOGIN alice@example.test secret-one", "a OK")
	imap.cmd("b LOGOUT", "* BYE")
	got = get("imapd")
	want(t, "imapd", got, map[string]float64{`mailsuite_logins_total{protocol="imap",result="ok"}`: 1})
	if got["mailsuite_store_commit_seconds_count"] < 1 {
		t.Errorf("imapd: no store commit counted for its grant")
	}

	// The grant lets the same address relay; the remote MX is down, then up.
	c, err = smtp.Dial(addr(s.ports.SMTP))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("alice@example.test", []string{"friend@remote.test"},
		strings.NewReader("Subject: out\r\n\r\nmetrics-relay\r\n")); err != nil {
		t.Fatalf("relay through the grant: %v", err)
	}
	c.Quit()
	got = get("smtpd")
	want(t, "smtpd", got, map[string]float64{
		`mailsuite_smtp_relay_decisions_total{route="grant"}`: 1,
		`mailsuite_smtp_messages_accepted_total{role="mx"}`:   2,
		`mailsuite_grants_live`:                               1,
	})
	if !eventually(30*time.Second, func() bool {
		return get("smtpd")[`mailsuite_queue_deliveries_total{result="deferred"}`] >= 1
	}) {
		t.Fatal("no deferral counted while the remote MX refuses")
	}
	if got := get("smtpd"); got["mailsuite_queue_messages"] != 1 {
		t.Errorf("queue length %v while the message waits, want 1", got["mailsuite_queue_messages"])
	}
	mx.setDown(false)
	if _, ok := mx.waitFor(30*time.Second, "metrics-relay"); !ok {
		t.Fatal("the relayed message was not delivered")
	}
	if !eventually(30*time.Second, func() bool {
		got := get("smtpd")
		return got[`mailsuite_queue_deliveries_total{result="delivered"}`] == 1 && got["mailsuite_queue_messages"] == 0
	}) {
		got := get("smtpd")
		t.Errorf("after delivery: delivered %v, queue %v; want 1 and 0",
			got[`mailsuite_queue_deliveries_total{result="delivered"}`], got["mailsuite_queue_messages"])
	}

	// SIGTERM ends the metrics server with the daemon.
	if err := s.stop("pop3d"); err != nil {
		t.Fatal(err)
	}
	if _, err := scrape.TryGet(url("pop3d")); err == nil {
		t.Error("pop3d's metrics port still answers after SIGTERM")
	}
}

// want checks the given series of a scrape.
func want(t *testing.T, daemon string, got, series map[string]float64) {
	t.Helper()
	for k, v := range series {
		if got[k] != v {
			t.Errorf("%s: %s = %v, want %v", daemon, k, got[k], v)
		}
	}
}

// TestMetricsOff: with the metrics keys empty (the default) each daemon
// listens on its mail ports and nothing else.
func TestMetricsOff(t *testing.T) {
	s := newSuite(t)
	s.start("smtpd", "pop3d", "imapd")
	for _, d := range []string{"smtpd", "pop3d", "imapd"} {
		s.wantListening(t, d, s.daemonPorts(d)...)
		if log := s.logOf(d); strings.Contains(log, "metrics") {
			t.Errorf("%s serves metrics with its key empty:\n%s", d, log)
		}
	}
}

// listening returns the TCP ports the process pid listens on, from the
// socket inodes among its open files and the kernel's socket tables.
func listening(t *testing.T, pid int) []int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	var ports []int
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			port, err := strconv.ParseInt(hexPort, 16, 32)
			if err != nil {
				t.Fatalf("%s: %q: %v", table, line, err)
			}
			ports = append(ports, int(port))
		}
	}
	slices.Sort(ports)
	return ports
}

// wantListening checks that daemon d listens on exactly ports.
func (s *suite) wantListening(t *testing.T, name string, ports ...int) {
	t.Helper()
	slices.Sort(ports)
	if got := listening(t, s.daemons[name].cmd.Process.Pid); !slices.Equal(got, ports) {
		t.Errorf("%s listens on %v, want %v", name, got, ports)
	}
}
