package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// sendEnv builds the environment for testdata/smtp_send.py.
func sendEnv(port int, src, from, to, subject string, extra ...string) []string {
	return append([]string{
		"HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port), "SRC=" + src,
		"FROM=" + from, "TO=" + to, "SUBJECT=" + subject,
	}, extra...)
}

// popEnv builds the environment for testdata/pop3.py.
func popEnv(port int, src, user, pass, mode string) []string {
	return []string{
		"HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port), "SRC=" + src,
		"USER=" + user, "PASS=" + pass, "MODE=" + mode,
	}
}

// TestOutlookExpressDay is the legacy POP3 user's day: check mail with
// USER/PASS (downloading and deleting), then send through the server
// without SMTP AUTH because the POP3 login granted the client's IP
// (POP-before-SMTP). Another IP without a grant is refused, and the
// relayed message reaches the remote MX.
func TestOutlookExpressDay(t *testing.T) {
	mx := newFakeMX(t)
	s := newSuite(t)
	s.route("remote.test", mx.addr())
	s.addUser("alice@example.test", "alice-secret")
	s.start("smtpd", "pop3d")

	// Mail for alice arrives from the internet on the MX port.
	out, code := python(t, "smtp_send.py", sendEnv(s.ports.SMTP, "127.0.0.1",
		"friend@remote.test", "alice@example.test", "morning news")...)
	if code != 0 {
		t.Fatalf("inbound mail for alice: exit %d: %s", code, out)
	}

	// Outlook Express checks mail from 127.0.0.2, deleting what it downloads.
	out, code = python(t, "pop3.py", popEnv(s.ports.POP3, "127.0.0.2", "alice@example.test", "alice-secret", "fetch-delete")...)
	if code != 0 || !strings.Contains(out, "stat 1") || !strings.Contains(out, "subject: morning news") {
		t.Fatalf("POP3 fetch-delete: exit %d:\n%s", code, out)
	}
	out, code = python(t, "pop3.py", popEnv(s.ports.POP3, "127.0.0.2", "alice@example.test", "alice-secret", "stat")...)
	if code != 0 || !strings.Contains(out, "stat 0") {
		t.Fatalf("after DELE+QUIT the maildrop should be empty: exit %d:\n%s", code, out)
	}

	// Then sends from the same IP, no AUTH: the POP3 login granted relaying.
	out, code = python(t, "smtp_send.py", sendEnv(s.ports.SMTP, "127.0.0.2",
		"alice@example.test", "bob@remote.test", "reply from alice")...)
	if code != 0 {
		t.Fatalf("relay from granted IP 127.0.0.2: exit %d: %s\nsmtpd log:\n%s", code, out, s.logOf("smtpd"))
	}

	// The same from an IP without a grant is relay access denied.
	out, code = python(t, "smtp_send.py", sendEnv(s.ports.SMTP, "127.0.0.3",
		"alice@example.test", "bob@remote.test", "from elsewhere")...)
	if code != 3 || !strings.Contains(out, "refused 554") {
		t.Fatalf("relay from 127.0.0.3 without grant: want \"refused 554\", got exit %d: %s", code, out)
	}

	// The relayed message reaches the remote MX.
	m, ok := mx.waitFor(30*time.Second, "Subject: reply from alice")
	if !ok {
		t.Fatalf("relayed message never reached the remote MX; got %d messages\nsmtpd log:\n%s",
			len(mx.received()), s.logOf("smtpd"))
	}
	if m.From != "alice@example.test" || len(m.To) != 1 || m.To[0] != "bob@remote.test" {
		t.Errorf("remote MX got MAIL FROM %q RCPT %q, want alice@example.test -> bob@remote.test", m.From, m.To)
	}
	if _, ok := mx.waitFor(time.Second, "from elsewhere"); ok {
		t.Error("the refused message reached the remote MX")
	}
	if out := s.mailctl("", "grants", "list"); !strings.Contains(out, "127.0.0.2\talice@example.test") {
		t.Errorf("mailctl grants list lacks the 127.0.0.2 grant:\n%s", out)
	}
}

// TestMXInboundFromGrantedIP: inbound mail to a local user on the MX port
// is accepted from any sender (docs/ARCHITECTURE.md rule 1), also when the sending IP
// happens to hold a relay grant (an office behind one NAT address: a user
// checked mail, and a machine there sends a notification from a foreign
// address). The sender check belongs to relaying, not to local delivery.
func TestMXInboundFromGrantedIP(t *testing.T) {
	s := newSuite(t)
	s.addUser("kim@example.test", "kim-secret")
	s.start("smtpd", "pop3d")
	out, code := python(t, "pop3.py", popEnv(s.ports.POP3, "127.0.0.4", "kim@example.test", "kim-secret", "stat")...)
	if code != 0 {
		t.Fatalf("POP3 login: exit %d: %s", code, out)
	}
	out, code = python(t, "smtp_send.py", sendEnv(s.ports.SMTP, "127.0.0.4",
		"alerts@monitoring.test", "kim@example.test", "disk almost full")...)
	if code != 0 {
		t.Fatalf("inbound mail to a local user from a granted IP refused: %s", out)
	}
}
