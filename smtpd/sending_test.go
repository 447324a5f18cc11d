package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"mailsuite/shared/config"
	"mailsuite/smtpd/policy"
	"mailsuite/store"
)

// limitsEnv is a test smtpd with small sending limits; suspension is off
// unless a test turns it on.
func limitsEnv(t *testing.T, edit ...func(*config.Config)) *testEnv {
	t.Helper()
	return newEnv(t, append([]func(*config.Config){func(c *config.Config) {
		c.Relay.MaxMessagesPerHour, c.Relay.MaxRecipientsPerDay, c.Relay.MaxNewRecipientsPerDay = 3, 5, 4
		c.Relay.SuspendOnLimit = false
	}}, edit...)...)
}

// authed is a submission session over STARTTLS, authenticated as login.
func authed(t *testing.T, addr, login, pass string) *client {
	t.Helper()
	c := dial(t, addr, "", false)
	c.ehlo()
	c.starttls()
	if code, msg := c.authPlain("", login, pass); code != 235 {
		t.Fatalf("AUTH %s: %d %s", login, code, msg)
	}
	return c
}

// send runs one transaction from from to rcpts and returns each RCPT
// reply ("250", or the code and text of a refusal). It sends the data
// when a recipient was accepted, and fails the test unless that is 250.
func (c *client) send(from, subject string, rcpts ...string) []string {
	c.t.Helper()
	c.must(250, "MAIL FROM:<%s>", from)
	var out []string
	ok := false
	for _, r := range rcpts {
		code, msg := c.cmd("RCPT TO:<%s>", r)
		if code == 250 {
			out, ok = append(out, "250"), true
			continue
		}
		out = append(out, fmt.Sprintf("%d %s", code, msg))
	}
	if !ok {
		c.must(250, "RSET")
		return out
	}
	if code, msg := c.data(testBody(subject)); code != 250 {
		c.t.Fatalf("DATA: %d %s", code, msg)
	}
	return out
}

// wantRefused fails unless reply is the 450 4.7.1 of limit, naming when
// it resets.
func wantRefused(t *testing.T, reply, limit string) {
	t.Helper()
	if !strings.HasPrefix(reply, "450 4.7.1 ") || !strings.Contains(reply, limit) || !strings.Contains(reply, "resets at") {
		t.Fatalf("reply %q, want 450 4.7.1 naming %q and its reset", reply, limit)
	}
}

func wantAccepted(t *testing.T, replies []string) {
	t.Helper()
	for i, r := range replies {
		if r != "250" {
			t.Fatalf("recipient %d: %s, want 250", i+1, r)
		}
	}
}

// TestMessagesPerHour: with 3 messages an hour, the fourth message's
// first remote recipient gets the 450, its local one does not, and
// local mail goes on.
func TestMessagesPerHour(t *testing.T) {
	e := limitsEnv(t)
	c := authed(t, e.sub, alice, userPass)
	for i := range 3 {
		wantAccepted(t, c.send(alice, fmt.Sprint("m", i), carol, fmt.Sprintf("r%d@far.test", i%2)))
	}
	got := c.send(alice, "m3", carol, "r0@far.test")
	wantAccepted(t, got[:1])
	wantRefused(t, got[1], "3 messages per hour")
	wantAccepted(t, c.send(alice, "local", carol))
	if n := len(e.queued("r0@far.test")); n != 2 {
		t.Errorf("%d messages queued for r0, want 2", n)
	}
	// The hour turns: the count starts over.
	e.clock.Add(time.Hour)
	wantAccepted(t, c.send(alice, "next hour", "r0@far.test"))
}

// TestRecipientsPerDay: with 5 recipients a day (the first 4 new), the
// sixth remote recipient is refused, in the middle of a transaction.
func TestRecipientsPerDay(t *testing.T) {
	e := limitsEnv(t, func(c *config.Config) { c.Relay.MaxNewRecipientsPerDay = 0 })
	c := authed(t, e.sub, alice, userPass)
	wantAccepted(t, c.send(alice, "a", "a@far.test", "b@far.test", "c@far.test"))
	got := c.send(alice, "b", "a@far.test", "b@far.test", carol, "d@far.test")
	wantAccepted(t, got[:2])
	wantAccepted(t, got[2:3])
	wantRefused(t, got[3], "5 recipients per day")
	if n := len(e.queued("d@far.test")); n != 0 {
		t.Errorf("the refused recipient has %d messages queued", n)
	}
}

// TestNewRecipientsPerDay: with 4 first-time recipients a day, a fifth
// new address is refused while addresses sent to before still pass.
func TestNewRecipientsPerDay(t *testing.T) {
	e := limitsEnv(t, func(c *config.Config) {
		c.Relay.MaxRecipientsPerDay, c.Relay.MaxMessagesPerHour = 0, 0
	})
	c := authed(t, e.sub, alice, userPass)
	wantAccepted(t, c.send(alice, "a", "a@far.test", "b@far.test", "c@far.test"))
	wantAccepted(t, c.send(alice, "b", "a@far.test", "a@far.test", "d@far.test"))
	got := c.send(alice, "c", "e@far.test", "b@far.test")
	wantRefused(t, got[0], "4 new recipients per day")
	wantAccepted(t, got[1:])
}

// TestLimitOverrides: a domain's limits bound its users without their
// own, a user's own beat the domain's, and 0 is unlimited.
func TestLimitOverrides(t *testing.T) {
	e := limitsEnv(t)
	ctx := context.Background()
	n := func(v int64) *int64 { return &v }
	if err := e.st.SetDomainLimits(ctx, "example.com", store.LimitOverrides{MessagesPerHour: n(1)}); err != nil {
		t.Fatal(err)
	}
	c := authed(t, e.sub, alice, userPass)
	wantAccepted(t, c.send(alice, "a", "a@far.test"))
	wantRefused(t, c.send(alice, "b", "a@far.test")[0], "1 messages per hour")
	if err := e.st.SetUserLimits(ctx, alice, store.LimitOverrides{MessagesPerHour: n(0)}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		wantAccepted(t, c.send(alice, fmt.Sprint(i), "a@far.test"))
	}
}

// TestDomainCredentialCountsApart: the domain credential and its users
// have counts of their own.
func TestDomainCredentialCountsApart(t *testing.T) {
	e := limitsEnv(t, func(c *config.Config) { c.Relay.MaxMessagesPerHour = 2 })
	u := authed(t, e.sub, alice, userPass)
	d := authed(t, e.sub, "example.com", domainPass)
	wantAccepted(t, u.send(alice, "u1", "a@far.test"))
	wantAccepted(t, u.send(alice, "u2", "a@far.test"))
	wantAccepted(t, d.send("info@example.com", "d1", "a@far.test"))
	wantAccepted(t, d.send(alice, "d2", "a@far.test"))
	wantRefused(t, u.send(alice, "u3", "a@far.test")[0], "for "+alice+": 2 messages per hour")
	wantRefused(t, d.send(alice, "d3", "a@far.test")[0], "for example.com: 2 messages per hour")
}

// TestGrantCountsAgainstUser: a POP/IMAP-before-SMTP client counts
// against the user of its grant.
func TestGrantCountsAgainstUser(t *testing.T) {
	e := limitsEnv(t, func(c *config.Config) { c.Relay.MaxMessagesPerHour = 1 })
	e.grant("127.0.0.1", alice, time.Hour)
	c := dial(t, e.sub, "127.0.0.1", false)
	c.ehlo()
	wantAccepted(t, c.send(alice, "g1", "a@far.test"))
	wantRefused(t, c.send(alice, "g2", "a@far.test")[0], "for "+alice+": 1 messages per hour")
	a := authed(t, e.sub, alice, userPass)
	wantRefused(t, a.send(alice, "a1", "a@far.test")[0], "1 messages per hour")
}

// twin serves a second smtpd over its own store opened on e's file, as a
// second process would: the counts are shared through the file only.
func (e *testEnv) twin(t *testing.T) *testEnv {
	t.Helper()
	st, err := store.Open(e.st.Path(), store.WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tw := *e
	tw.st = st
	tw.srv = newServer(e.cfg, st, e.srv.log, e.srv.tls)
	tw.srv.failureDelay = 0
	tw.t = t
	tw.sub = tw.serve(policy.RoleSubmission, false)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tw.srv.shutdown(ctx)
	})
	return &tw
}

// TestCountsSharedAndKept: two servers on one store file share the
// counts, and a server started after both stopped still has them.
func TestCountsSharedAndKept(t *testing.T) {
	e := limitsEnv(t)
	tw := e.twin(t)
	a := authed(t, e.sub, alice, userPass)
	b := authed(t, tw.sub, alice, userPass)
	wantAccepted(t, a.send(alice, "1", "a@far.test"))
	wantAccepted(t, b.send(alice, "2", "a@far.test"))
	wantAccepted(t, a.send(alice, "3", "a@far.test"))
	wantRefused(t, b.send(alice, "4", "a@far.test")[0], "3 messages per hour")

	// Restart: stop both servers and stores, start a new one on the file.
	path := e.st.Path()
	for _, x := range []*testEnv{e, tw} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		x.srv.shutdown(ctx)
		cancel()
		x.st.Close()
	}
	st, err := store.Open(path, store.WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	again := e.twin(t)
	c := authed(t, again.sub, alice, userPass)
	wantRefused(t, c.send(alice, "5", "a@far.test")[0], "3 messages per hour")
}

// TestSuspension: alice goes over a limit in one session while another
// of her sessions is open and she holds a grant. She gets the 450 that
// says she is suspended; her grant is gone, the open session is refused
// at its next MAIL FROM, a new AUTH is refused, one line is logged and
// one notice reaches the postmaster however often the limit is hit.
// "user smtp on" (SetUserSMTP) restores her with her counts cleared.
func TestSuspension(t *testing.T) {
	e := limitsEnv(t, func(c *config.Config) {
		c.Relay.MaxMessagesPerHour, c.Relay.SuspendOnLimit = 1, true
		c.Hostname = "other.test" // postmaster@ of the host is carol
	})
	ctx := context.Background()
	if err := e.st.AddAlias(ctx, "postmaster@example.com", carol); err != nil {
		t.Fatal(err)
	}
	e.grant("127.0.0.2", alice, time.Hour)
	open := authed(t, e.sub, alice, userPass)
	c := authed(t, e.sub, alice, userPass)
	wantAccepted(t, c.send(alice, "Cheap pills", "a@far.test"))
	// A session of another server on the store, past MAIL FROM when the
	// suspension comes: it reaches the limit too, and sends no notice.
	late := authed(t, e.twin(t).sub, alice, userPass)
	late.must(250, "MAIL FROM:<%s>", alice)
	got := c.send(alice, "More pills", "b@far.test")
	wantRefused(t, got[0], "1 messages per hour")
	if !strings.Contains(got[0], "suspended") {
		t.Errorf("reply %q does not say sending is suspended", got[0])
	}
	code, msg := late.cmd("RCPT TO:<c@far.test>")
	wantRefused(t, fmt.Sprintf("%d %s", code, msg), "1 messages per hour")

	if g, err := e.st.LiveGrants(ctx, "127.0.0.2"); err != nil || len(g) != 0 {
		t.Errorf("grants after suspension: %v, %v", g, err)
	}
	code, msg = open.cmd("MAIL FROM:<%s>", alice)
	if code != 530 || !strings.Contains(msg, "Sending is disabled") {
		t.Errorf("open session's MAIL after suspension: %d %s, want 530", code, msg)
	}
	r := dial(t, e.sub, "", false)
	r.ehlo()
	r.starttls()
	if code, _ := r.authPlain("", alice, userPass); code != 535 {
		t.Errorf("AUTH after suspension: %d, want 535", code)
	}
	if n := strings.Count(e.log.String(), "msg=\"smtp suspended\""); n != 1 {
		t.Errorf("%d suspension lines logged, want 1:\n%s", n, e.log)
	}
	st, err := e.st.SendingState(ctx, alice)
	if err != nil || st.Suspended != "1 messages per hour" {
		t.Errorf("stored suspension %q, %v", st.Suspended, err)
	}
	inbox := e.inbox(carol)
	if len(inbox) != 1 {
		t.Fatalf("postmaster has %d notices, want 1", len(inbox))
	}
	for _, want := range []string{"Subject: Sending suspended: " + alice + " (1 messages per hour)",
		"127.0.0.1", "Cheap pills", "mailctl user smtp " + alice + " on"} {
		if !strings.Contains(inbox[0], want) {
			t.Errorf("notice lacks %q:\n%s", want, inbox[0])
		}
	}

	if err := e.st.SetUserSMTP(ctx, alice, true); err != nil {
		t.Fatal(err)
	}
	c = authed(t, e.sub, alice, userPass)
	wantAccepted(t, c.send(alice, "after", "a@far.test"))
}

// TestBounceStorm: the third bounce within the hour to alice, through the
// MX port, suspends her and tells the postmaster.
func TestBounceStorm(t *testing.T) {
	e := limitsEnv(t, func(c *config.Config) { c.Relay.MaxBouncesPerHour, c.Relay.SuspendOnLimit = 3, true })
	c := dial(t, e.mx, "", false)
	c.ehlo()
	for i := range 3 {
		if st, _ := e.st.SendingState(context.Background(), alice); st.Suspended != "" {
			t.Fatalf("suspended after %d bounces", i)
		}
		wantAccepted(t, c.send("", fmt.Sprint("bounce ", i), alice))
	}
	st, err := e.st.SendingState(context.Background(), alice)
	if err != nil || st.Suspended != "3 bounces per hour" {
		t.Fatalf("after 3 bounces: suspended %q, %v", st.Suspended, err)
	}
	a := dial(t, e.sub, "", false)
	a.ehlo()
	a.starttls()
	if code, _ := a.authPlain("", alice, userPass); code != 535 {
		t.Errorf("AUTH after a bounce storm: %d, want 535", code)
	}
}
