package main

import (
	"context"
	"strings"
	"testing"

	"mailsuite/store"
)

func TestDecideQuota(t *testing.T) {
	free := store.Quota{Bytes: 100, StorageLimit: 1000}
	unlimited := store.Quota{Bytes: 1 << 40}
	full := store.Quota{Bytes: 1000, StorageLimit: 1000}
	over := store.Quota{Bytes: 1200, StorageLimit: 1000}
	manyMsgs := store.Quota{Messages: 5, MessageLimit: 5}
	for _, tc := range []struct {
		name     string
		users    []store.Quota
		declared int64
		refused  bool
	}{
		{"no local user", nil, 0, false},
		{"room", []store.Quota{free}, 0, false},
		{"unlimited", []store.Quota{unlimited}, 1 << 30, false},
		{"full", []store.Quota{full}, 0, true},
		{"over", []store.Quota{over}, 0, true},
		{"message count at the limit", []store.Quota{manyMsgs}, 0, true},
		{"SIZE fits exactly", []store.Quota{free}, 900, false},
		{"SIZE does not fit", []store.Quota{free}, 901, true},
		{"one alias member full", []store.Quota{free, full}, 0, true},
	} {
		if serr := DecideRcptQuota("postmaster@example.com", tc.users, tc.declared); serr != nil {
			t.Errorf("RCPT postmaster@ %s: %v, want it accepted", tc.name, serr)
		}
		serr := DecideRcptQuota("a@example.com", tc.users, tc.declared)
		if (serr != nil) != tc.refused {
			t.Errorf("RCPT %s: %v, refused want %v", tc.name, serr, tc.refused)
		}
		if serr != nil && (serr.Code != 452 || serr.EnhancedCode != [3]int{4, 2, 2} || !strings.Contains(serr.Message, "a@example.com")) {
			t.Errorf("RCPT %s: reply %d %v %s", tc.name, serr.Code, serr.EnhancedCode, serr.Message)
		}
	}
	for _, tc := range []struct {
		name    string
		users   []store.Quota
		remote  bool
		size    int64
		refused bool
	}{
		{"remote only", nil, true, 10, false},
		{"fits", []store.Quota{free}, false, 900, false},
		{"fits none", []store.Quota{free}, false, 901, true},
		{"fits none, remote too", []store.Quota{free}, true, 901, false},
		{"fits one of two", []store.Quota{free, {Bytes: 950, StorageLimit: 1000}}, false, 500, false},
		{"fits none of two", []store.Quota{free, full}, false, 901, true},
		{"unlimited", []store.Quota{unlimited}, false, 1 << 30, false},
	} {
		serr := DecideDataQuota(tc.users, tc.remote, tc.size)
		if (serr != nil) != tc.refused {
			t.Errorf("DATA %s: %v, refused want %v", tc.name, serr, tc.refused)
		}
		if serr != nil && (serr.Code != 452 || serr.EnhancedCode != [3]int{4, 2, 2}) {
			t.Errorf("DATA %s: reply %d %v", tc.name, serr.Code, serr.EnhancedCode)
		}
	}
}

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
