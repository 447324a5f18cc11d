package e2e

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TestRevocationLive: the real daemons, the real mailctl. A user
// authenticated on 587 sends one message to a remote recipient, with a
// POP3 and an IMAP session open; then the operator runs mailctl user smtp
// off, user passwd or user rm. The SMTP session's next MAIL FROM is
// refused with a 530 and nothing more is relayed; after passwd and rm the
// POP3 and IMAP sessions end at their next command.
func TestRevocationLive(t *testing.T) {
	mx := newFakeMX(t)
	s := newSuite(t)
	s.route("remote.test", mx.addr())
	cases := []struct {
		user, reply string
		revoke      []string
		stdin       string
		endsReading bool
	}{
		{"sam@example.test", "Sending is disabled", []string{"user", "smtp", "sam@example.test", "off"}, "", false},
		{"pat@example.test", "Authentication no longer valid", []string{"user", "passwd", "pat@example.test", "--password-stdin"}, "a new password\n", true},
		{"rob@example.test", "Authentication no longer valid", []string{"user", "rm", "rob@example.test"}, "", true},
	}
	for _, tc := range cases {
		s.addUser(tc.user, "old-password")
	}
	s.start("smtpd", "pop3d", "imapd")
	for _, tc := range cases {
		t.Run(tc.user, func(t *testing.T) {
			c, err := smtp.Dial(addr(s.ports.Submission))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Auth(sasl.NewPlainClient("", tc.user, "old-password")); err != nil {
				t.Fatal(err)
			}
			send := func(marker string) error {
				msg := "From: " + tc.user + "\r\nTo: friend@remote.test\r\nSubject: " + marker + "\r\n\r\n" + marker + "\r\n"
				return c.SendMail(tc.user, []string{"friend@remote.test"}, strings.NewReader(msg))
			}
			if err := send("before-" + tc.user); err != nil {
				t.Fatal(err)
			}
			pop := lineConn(t, s.ports.POP3)
			pop.expect("+OK")
			pop.cmd("USER "+tc.user, "+OK")
			pop.cmd("PASS old-password", "+OK")
			imap := lineConn(t, s.ports.IMAP)
			imap.expect("* OK")
			imap.cmd("a LOGIN "+tc.user+" old-password", "a OK")

			s.mailctl(tc.stdin, tc.revoke...)

			err = send("after-" + tc.user)
			var serr *smtp.SMTPError
			if !errors.As(err, &serr) || serr.Code != 530 || !strings.Contains(serr.Message, tc.reply) {
				t.Fatalf("MAIL after revocation: %v, want 530 %s", err, tc.reply)
			}
			if tc.endsReading {
				pop.cmd("STAT", "-ERR [AUTH]")
				imap.cmd("b NOOP", "* BYE")
			} else {
				pop.cmd("STAT", "+OK")
				imap.cmd("b NOOP", "b OK")
			}
			if _, ok := mx.waitFor(20*time.Second, "before-"+tc.user); !ok {
				t.Fatal("the message sent before the revocation was not relayed")
			}
			for _, m := range mx.received() {
				if strings.Contains(m.Data, "after-"+tc.user) {
					t.Fatal("a message sent after the revocation was relayed")
				}
			}
		})
	}
}

// textLineConn is a line-level client for POP3 and IMAP exchanges.
type textLineConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func lineConn(t *testing.T, port int) *textLineConn {
	c, err := net.DialTimeout("tcp", addr(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &textLineConn{t: t, c: c, r: bufio.NewReader(c)}
}

func (l *textLineConn) expect(prefix string) {
	l.t.Helper()
	l.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := l.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, prefix) {
		l.t.Fatalf("got %q, %v; want %q", line, err, prefix)
	}
}

// cmd sends a line and expects the first reply line to start with prefix.
func (l *textLineConn) cmd(line, prefix string) {
	l.t.Helper()
	l.send(line)
	l.expect(prefix)
}
