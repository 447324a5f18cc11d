package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestIMAPDay is the modern user's day: an IMAP client IDLEs on INBOX, mail
// delivered through smtpd shows up as EXISTS, the user reads it and moves
// it to Trash, and a POP3 client (which sees only INBOX) no longer finds it.
func TestIMAPDay(t *testing.T) {
	s := newSuite(t)
	s.addUser("carol@example.test", "carol-secret")
	s.start("smtpd", "imapd", "pop3d")

	exists := make(chan uint32, 16)
	c, err := imapclient.DialInsecure(addr(s.ports.IMAP), &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("carol@example.test", "carol-secret").Wait(); err != nil {
		t.Fatalf("LOGIN: %v", err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatalf("SELECT INBOX: %v", err)
	}
	if sel.NumMessages != 0 {
		t.Fatalf("new INBOX has %d messages", sel.NumMessages)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatalf("IDLE: %v", err)
	}

	// From another host than carol's: her login granted 127.0.0.1.
	out, code := python(t, "smtp_send.py", sendEnv(s.ports.SMTP, "127.0.0.9",
		"dave@remote.test", "carol@example.test", "lunch on friday")...)
	if code != 0 {
		t.Fatalf("delivery through smtpd: exit %d: %s", code, out)
	}
	select {
	case n := <-exists:
		if n != 1 {
			t.Errorf("EXISTS %d, want 1", n)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no EXISTS during IDLE within 15s of delivery\nimapd log:\n%s", s.logOf("imapd"))
	}
	if err := idle.Close(); err != nil {
		t.Fatalf("DONE: %v", err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatalf("IDLE end: %v", err)
	}

	// Read it.
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{
		UID:         true,
		Flags:       true,
		BodySection: []*imap.FetchItemBodySection{{}},
	}).Collect()
	if err != nil || len(msgs) != 1 || len(msgs[0].BodySection) != 1 {
		t.Fatalf("FETCH 1 BODY[]: %v (%d messages)", err, len(msgs))
	}
	if body := string(msgs[0].BodySection[0].Bytes); !strings.Contains(body, "Subject: lunch on friday") {
		t.Fatalf("FETCH body lacks the subject:\n%s", body)
	}

	// Move it to Trash.
	if _, err := c.Move(imap.UIDSetNum(msgs[0].UID), "Trash").Wait(); err != nil {
		t.Fatalf("UID MOVE to Trash: %v", err)
	}
	st, err := c.Status("Trash", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || st.NumMessages == nil || *st.NumMessages != 1 {
		t.Fatalf("STATUS Trash: %v %+v, want 1 message", err, st)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Errorf("LOGOUT: %v", err)
	}

	// Gone from INBOX as POP3 sees it.
	out, code = python(t, "pop3.py", popEnv(s.ports.POP3, "127.0.0.1", "carol@example.test", "carol-secret", "stat")...)
	if code != 0 || !strings.Contains(out, "stat 0") {
		t.Fatalf("POP3 after MOVE to Trash: want stat 0, got exit %d:\n%s", code, out)
	}
}
