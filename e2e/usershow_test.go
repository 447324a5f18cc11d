package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TestUserShow: the real daemons and mailctl. A user gets one message on
// the MX port and logs in over POP3, IMAP and SMTP AUTH from 127.0.0.1;
// "mailctl user show" then lists the message in INBOX, the usage, the
// alias, the relay grant the POP3 login gave, and one login per protocol.
// Sent past a sending limit, the user is suspended: user show says why
// and since when.
func TestUserShow(t *testing.T) {
	const user, pass = "una@example.test", "una-password"
	remote := newFakeMX(t)
	s := newSuite(t)
	s.route("remote.test", remote.addr())
	s.addUser(user, pass)
	s.mailctl("", "alias", "add", "info@example.test", user)
	s.start("smtpd", "pop3d", "imapd")

	msg := "From: friend@far.test\r\nTo: " + user + "\r\nSubject: hello\r\n\r\nHello.\r\n"
	mx, err := smtp.Dial(addr(s.ports.SMTP))
	if err != nil {
		t.Fatal(err)
	}
	if err := mx.SendMail("friend@far.test", []string{user}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	mx.Close()
	pop := lineConn(t, s.ports.POP3)
	pop.expect("+OK")
	pop.cmd("USER "+user, "+OK")
	pop.cmd("PASS "+pass, "+OK")
	pop.cmd("QUIT", "+OK")
	imap := lineConn(t, s.ports.IMAP)
	imap.expect("* OK")
	imap.cmd("a LOGIN "+user+" "+pass, "a OK")
	imap.cmd("b LOGOUT", "* BYE")
	c, err := smtp.Dial(addr(s.ports.Submission))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(sasl.NewPlainClient("", user, pass)); err != nil {
		t.Fatal(err)
	}
	c.Close()

	var rep struct {
		Address, Used string
		Messages      int
		Aliases       []string
		Mailboxes     []struct {
			Name           string
			Messages, Size int
		}
		Grants []struct{ IP, Expires string }
		Logins []struct{ Proto, IP, Last string }
	}
	out := s.mailctl("", "user", "show", user, "--json")
	if err := json.Unmarshal([]byte(strings.ReplaceAll(out, `"used":`, `"used_bytes":`)), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Address != user || rep.Messages != 1 || strings.Join(rep.Aliases, ",") != "info@example.test" {
		t.Errorf("user show:\n%s", out)
	}
	inbox := 0
	for _, b := range rep.Mailboxes {
		if b.Name == "INBOX" && b.Messages == 1 && b.Size >= len(msg) {
			inbox++
		}
	}
	if len(rep.Mailboxes) != 5 || inbox != 1 {
		t.Errorf("mailboxes %+v, want five, INBOX with the message", rep.Mailboxes)
	}
	if len(rep.Grants) != 1 || rep.Grants[0].IP != "127.0.0.1" || rep.Grants[0].Expires == "" {
		t.Errorf("grants %+v, want the POP3 login's for 127.0.0.1", rep.Grants)
	}
	protos := map[string]bool{}
	for _, l := range rep.Logins {
		if l.IP == "127.0.0.1" && l.Last != "" {
			protos[l.Proto] = true
		}
	}
	if len(rep.Logins) != 3 || !protos["pop3"] || !protos["imap"] || !protos["smtp"] {
		t.Errorf("logins %+v, want pop3, imap and smtp from 127.0.0.1", rep.Logins)
	}
	text := s.mailctl("", "user", "show", user)
	for _, want := range []string{"address\t" + user + "\n", "smtp\ton\n", "aliases\tinfo@example.test\n",
		"mailbox\tINBOX\tmessages=1\t", "grant\t127.0.0.1\tuntil ", "login\tpop3\t127.0.0.1\t",
		"sending\tmessages-per-hour=0/500 (default)\t", "\tsuspended=no\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("user show lacks %q:\n%s", want, text)
		}
	}
	s.mailctl("", "user", "limits", user, "--messages-per-hour", "1")
	c, err = smtp.Dial(addr(s.ports.Submission))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", user, pass)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail(user, []string{"someone@remote.test"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(user, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("other@remote.test", nil); err == nil || !strings.Contains(err.Error(), "450") {
		t.Fatalf("second message past 1 message per hour: %v, want 450", err)
	}
	text = s.mailctl("", "user", "show", user)
	for _, want := range []string{"smtp\toff\n", "sending\tmessages-per-hour=1/1 (own)\t",
		"\tsuspended=1 messages per hour since "} {
		if !strings.Contains(text, want) {
			t.Errorf("suspended user show lacks %q:\n%s", want, text)
		}
	}
	var suspended struct {
		Sending struct {
			Suspended   string  `json:"suspended"`
			SuspendedAt *string `json:"suspended_at"`
		} `json:"sending"`
	}
	out = s.mailctl("", "user", "show", user, "--json")
	if err := json.Unmarshal([]byte(out), &suspended); err != nil || suspended.Sending.Suspended != "1 messages per hour" ||
		suspended.Sending.SuspendedAt == nil {
		t.Errorf("suspended user show --json (%v):\n%s", err, out)
	}
	if out, err := s.tryMailctl("", "user", "show", "nobody@example.test"); err == nil || !strings.Contains(out, "unknown user") {
		t.Errorf("unknown user: %v %s", err, out)
	}
}
