package e2e

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"mailsuite/internal/pgtest"
)

// TestStoreCopyKeepsUIDs: a host's SQLite store, moved to PostgreSQL with
// mailctl store copy, shows POP3 and IMAP clients the same UIDL list,
// UIDVALIDITY, UIDs, sizes and flags as before, so no client downloads
// its mail again.
func TestStoreCopyKeepsUIDs(t *testing.T) {
	s := newSuite(t)
	s.addUser("ann@example.test", "secret-pw")
	s.start("smtpd", "pop3d", "imapd")
	for i := range 5 {
		msg := fmt.Sprintf("From: bob@remote.test\r\nTo: ann@example.test\r\nSubject: m%d\r\n\r\n%s\r\n", i, strings.Repeat("body ", i+1))
		c := smtpFrom(t, "127.0.0.1", addr(s.ports.SMTP))
		if err := c.SendMail("bob@remote.test", []string{"ann@example.test"}, strings.NewReader(msg)); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	// Gaps in the UIDs and flags set, as a mailbox in use has them.
	imap := lineConn(t, s.ports.IMAP)
	imap.until("* OK")
	for _, cmd := range []string{"a LOGIN ann@example.test secret-pw", "b SELECT INBOX",
		`c UID STORE 2 +FLAGS (\Deleted)`, "d EXPUNGE", `e UID STORE 4 +FLAGS (\Flagged $Work)`, "f LOGOUT"} {
		imap.send(cmd)
		imap.until(cmd[:2] + "OK")
	}
	before := clientView(t, s)
	for _, d := range []string{"imapd", "pop3d", "smtpd"} {
		if err := s.stop(d); err != nil {
			t.Fatal(err)
		}
	}

	dsn := pgtest.DSN(t)
	out := s.mailctl("", "store", "copy", "--to", dsn)
	if !strings.Contains(out, "every table's count and checksum match") {
		t.Fatalf("store copy: %s", out)
	}
	s.extra = fmt.Sprintf("\n[store]\ndriver = \"postgres\"\ndsn = %q\n", dsn)
	s.writeConfig()
	s.start("pop3d", "imapd")
	after := clientView(t, s)
	if !reflect.DeepEqual(after, before) {
		t.Errorf("what clients see changed with the copy:\nSQLite     %q\nPostgreSQL %q", before, after)
	}
	if len(before) != 4+1+4 {
		t.Errorf("view %q: want 4 UIDL lines, UIDVALIDITY and 4 FETCH lines", before)
	}
}

// clientView is what a POP3 and an IMAP client record of ann's INBOX:
// the UIDL list, and UIDVALIDITY with each message's UID, size and flags
// (\Recent left out: which session sees a message as recent is no
// property of the mailbox).
func clientView(t *testing.T, s *suite) []string {
	t.Helper()
	var view []string
	pop := lineConn(t, s.ports.POP3)
	pop.until("+OK")
	for _, cmd := range []string{"USER ann@example.test", "PASS secret-pw"} {
		pop.send(cmd)
		pop.until("+OK")
	}
	pop.send("UIDL")
	view = append(view, pop.collect(".")[1:]...)
	pop.send("QUIT")

	imap := lineConn(t, s.ports.IMAP)
	imap.until("* OK")
	imap.send("a LOGIN ann@example.test secret-pw")
	imap.until("a OK")
	imap.send("b EXAMINE INBOX")
	for _, l := range imap.collect("b OK") {
		if strings.HasPrefix(l, "* OK [UIDVALIDITY ") {
			view = append(view, l)
		}
	}
	imap.send("c UID FETCH 1:* (UID RFC822.SIZE FLAGS)")
	for _, l := range imap.collect("c OK") {
		view = append(view, strings.Replace(strings.Replace(l, ` \Recent`, "", 1), `\Recent `, "", 1))
	}
	imap.send("d LOGOUT")
	return view
}

// collect reads lines up to one starting with prefix, and returns those
// before it, without line ends.
func (l *textLineConn) collect(prefix string) []string {
	l.t.Helper()
	var lines []string
	for {
		line, err := l.r.ReadString('\n')
		if err != nil {
			l.t.Fatalf("waiting for %q: %v (after %q)", prefix, err, lines)
		}
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, prefix) {
			return lines
		}
		lines = append(lines, line)
	}
}
