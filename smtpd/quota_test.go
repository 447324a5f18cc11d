package main

import (
	"context"
	"strings"
	"testing"

	"mailsuite/store"
)

// fill gives user a quota of limit bytes and stores n bytes for them.
func (e *testEnv) fill(user string, limit, n int64) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.st.SetUserQuota(ctx, user, limit); err != nil {
		e.t.Fatal(err)
	}
	if n > 0 {
		if err := e.st.Accept(ctx, store.Envelope{Local: []int64{e.users[user]}}, make([]byte, n)); err != nil {
			e.t.Fatal(err)
		}
	}
}

func TestQuotaAtRcpt(t *testing.T) {
	e := newEnv(t)
	e.fill(alice, 4000, 3000)
	c := dial(t, e.mx, "", false)
	c.ehlo()
	c.must(250, "MAIL FROM:<sender@far.test> SIZE=1000")
	c.must(250, "RCPT TO:<%s>", alice)
	c.must(250, "RSET")
	c.must(250, "MAIL FROM:<sender@far.test> SIZE=1001")
	if msg := c.must(452, "RCPT TO:<%s>", alice); !strings.HasPrefix(msg, "4.2.2 ") {
		t.Errorf("RCPT over quota by SIZE: %q, want 452 4.2.2", msg)
	}
	c.must(250, "RCPT TO:<%s>", carol)

	e.fill(alice, 3000, 0) // now full
	c.must(250, "RSET")
	c.must(250, "MAIL FROM:<sender@far.test>")
	for _, rcpt := range []string{alice, "info@example.com"} {
		if msg := c.must(452, "RCPT TO:<%s>", rcpt); !strings.HasPrefix(msg, "4.2.2 ") || !strings.Contains(msg, rcpt) {
			t.Errorf("RCPT %s of a full mailbox: %q, want 452 4.2.2 naming it", rcpt, msg)
		}
	}
	c.must(250, "RCPT TO:<%s>", carol)
	c.must(250, "RCPT TO:<postmaster@example.com>") // reaches alice, the first user
	if code, msg := c.data(testBody("for carol")); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	if n := len(e.inbox(alice)); n != 2 {
		t.Errorf("alice has %d messages, want the one that filled her quota and the postmaster's", n)
	}
	if !e.log.contains("mailbox full") {
		t.Errorf("refusal not logged")
	}
}

func TestQuotaAtEndOfData(t *testing.T) {
	e := newEnv(t)
	e.fill(alice, 4000, 3000)
	body := testBody("large") + strings.Repeat("x", 1200) + "\r\n"

	// Only alice, and it does not fit: the whole message is refused.
	c := startTx(t, e)
	if code, msg := c.data(body); code != 452 || !strings.HasPrefix(msg, "4.2.2 ") {
		t.Fatalf("DATA over quota: %d %s, want 452 4.2.2", code, msg)
	}
	if n := len(e.inbox(alice)); n != 1 {
		t.Fatalf("alice has %d messages after the refusal, want 1", n)
	}

	// A small one still fits.
	c.must(250, "MAIL FROM:<sender@far.test>")
	c.must(250, "RCPT TO:<%s>", alice)
	if code, msg := c.data(testBody("small")); code != 250 {
		t.Fatalf("DATA within quota: %d %s", code, msg)
	}

	// alice and carol: delivered to both, alice goes over by this one...
	c.must(250, "MAIL FROM:<sender@far.test>")
	c.must(250, "RCPT TO:<%s>", alice)
	c.must(250, "RCPT TO:<%s>", carol)
	if code, msg := c.data(body); code != 250 {
		t.Fatalf("DATA for two, one over: %d %s", code, msg)
	}
	if a, b := len(e.inbox(alice)), len(e.inbox(carol)); a != 3 || b != 1 {
		t.Fatalf("alice has %d messages, carol %d; want 3 and 1", a, b)
	}
	// ...and is refused at RCPT from then on.
	c.must(250, "MAIL FROM:<sender@far.test>")
	c.must(452, "RCPT TO:<%s>", alice)
}
