package e2e

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// TestFail2banLiveLogs: a wrong password at each daemon, from 127.0.0.2,
// produces a log line that the fail2ban filter matches with that address.
func TestFail2banLiveLogs(t *testing.T) {
	re := failRegex(t)
	s := newSuite(t)
	s.addUser("ivy@example.test", "ivy-secret")
	s.start("smtpd", "pop3d", "imapd")

	out, code := python(t, "smtp_send.py", sendEnv(s.ports.Submission, "127.0.0.2",
		"ivy@example.test", "ivy@example.test", "x", "AUTH_USER=ivy@example.test", "AUTH_PASS=wrong")...)
	if code != 3 {
		t.Errorf("SMTP AUTH with a wrong password: exit %d: %s", code, out)
	}
	out, code = python(t, "pop3.py", popEnv(s.ports.POP3, "127.0.0.2", "ivy@example.test", "wrong", "stat")...)
	if code == 0 {
		t.Errorf("POP3 with a wrong password succeeded: %s", out)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr(s.ports.IMAP))
	if err != nil {
		t.Fatal(err)
	}
	c := imapclient.New(conn, nil)
	if err := c.Login("ivy@example.test", "wrong").Wait(); err == nil {
		t.Error("IMAP LOGIN with a wrong password succeeded")
	}
	c.Close()

	for _, name := range []string{"smtpd", "pop3d", "imapd"} {
		var hosts []string
		eventually(5*time.Second, func() bool {
			hosts = hostsMatched(re, s.logOf(name))
			return len(hosts) > 0
		})
		// smtplib tries PLAIN and then LOGIN: one or more lines.
		if got := strings.Join(hosts, " "); len(hosts) == 0 || strings.Trim(strings.ReplaceAll(got, "127.0.0.2", ""), " ") != "" {
			t.Errorf("%s: filter matched hosts %q, want failures from 127.0.0.2 only\nlog:\n%s",
				name, got, s.logOf(name))
		}
	}
}

// TestFail2banOwnerNotBanned: someone guesses ivy's password from
// 127.0.0.2 until her account's limit is reached. The real imapd refuses
// a new address (127.0.0.3) unchecked and logs it "auth throttled", which
// the filter does not match; ivy's own device (127.0.0.1, where she
// logged in before) still gets in; only 127.0.0.2 is matched.
func TestFail2banOwnerNotBanned(t *testing.T) {
	re := failRegex(t)
	s := newSuite(t)
	s.addUser("ivy@example.test", "ivy-secret")
	s.start("imapd")
	login := func(ip net.IP, pass string) error {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
		conn, err := d.Dial("tcp", addr(s.ports.IMAP))
		if err != nil {
			t.Fatal(err)
		}
		c := imapclient.New(conn, nil)
		defer c.Close()
		return c.Login("ivy@example.test", pass).Wait()
	}
	owner, guesser, stranger := net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2), net.IPv4(127, 0, 0, 3)
	if err := login(owner, "ivy-secret"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		if login(guesser, "wrong") == nil {
			t.Fatal("a wrong password was accepted")
		}
	}
	if err := login(stranger, "ivy-secret"); err == nil {
		t.Error("a new address got in while the account is under attack")
	}
	if err := login(owner, "ivy-secret"); err != nil {
		t.Errorf("the owner's device was locked out: %v", err)
	}
	var log string
	eventually(5*time.Second, func() bool {
		log = s.logOf("imapd")
		return strings.Contains(log, `msg="auth throttled" daemon=imapd proto=imap ip=127.0.0.3`)
	})
	if !strings.Contains(log, `msg="auth throttled" daemon=imapd proto=imap ip=127.0.0.3`) {
		t.Errorf("no auth throttled line for the stranger:\n%s", log)
	}
	for _, h := range hostsMatched(re, log) {
		if h != "127.0.0.2" {
			t.Errorf("the filter matched %s, want only the guesser 127.0.0.2\nlog:\n%s", h, log)
		}
	}
}
