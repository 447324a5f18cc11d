package main

import (
	"strings"
	"testing"
	"time"

	"mailsuite/shared/auth"
)

// relayFrom tries to relay one message from local IP ip on the MX port and
// returns the RCPT reply code.
func relayFrom(t *testing.T, e *testEnv, ip string) int {
	t.Helper()
	c := dial(t, e.mx, ip, false)
	c.ehlo()
	c.must(250, "MAIL FROM:<%s>", alice)
	code, _ := c.cmd("RCPT TO:<friend@far.test>")
	c.cmd("QUIT")
	return code
}

// TestGrantLifecycle: a login recorded for 127.0.0.2 opens relaying for
// that address only, and it lapses after the window.
func TestGrantLifecycle(t *testing.T) {
	e := newEnv(t)
	if code := relayFrom(t, e, "127.0.0.2"); code != 554 {
		t.Fatalf("before login: %d, want 554", code)
	}
	e.grant("127.0.0.2", alice, 10*time.Minute) // what pop3d does at login
	if code := relayFrom(t, e, "127.0.0.2"); code != 250 {
		t.Fatalf("with grant: %d, want 250", code)
	}
	if code := relayFrom(t, e, "127.0.0.3"); code != 554 {
		t.Fatalf("other IP: %d, want 554", code)
	}
	e.clock.Add(9 * time.Minute)
	if code := relayFrom(t, e, "127.0.0.2"); code != 250 {
		t.Fatalf("inside the window: %d, want 250", code)
	}
	e.clock.Add(2 * time.Minute)
	if code := relayFrom(t, e, "127.0.0.2"); code != 554 {
		t.Fatalf("after the window: %d, want 554", code)
	}
	// The SMTP flag is read at every transaction: revoking SMTP authority
	// ends relaying for a live grant too.
	e.grant("127.0.0.2", alice, 10*time.Minute)
	if err := e.st.SetUserSMTP(t.Context(), alice, false); err != nil {
		t.Fatal(err)
	}
	if code := relayFrom(t, e, "127.0.0.2"); code != 554 {
		t.Fatalf("grant of a user whose SMTP was turned off: %d, want 554", code)
	}
}

// TestSendingDisabledAfterLogin: bob, whose SMTP authority is off, logs in
// from 127.0.0.2 as pop3d and imapd log users in. He gets no grant, and
// when he then sends from there without AUTH he is told that sending is
// disabled for his account, never to log in with POP3/IMAP first; with
// AUTH likewise. A client elsewhere sending as bob, or from there as
// another user, gets the usual replies.
func TestSendingDisabledAfterLogin(t *testing.T) {
	e := newEnv(t)
	if _, err := e.srv.auth.Check(t.Context(), auth.ServicePOP3, "127.0.0.2", bob, userPass); err != nil {
		t.Fatal(err)
	}
	if g, err := e.st.LiveGrants(t.Context(), "127.0.0.2"); err != nil || len(g) != 0 {
		t.Fatalf("grants of 127.0.0.2 = %+v, %v; want none", g, err)
	}
	says := func(what, msg string, disabled bool) {
		t.Helper()
		if got := strings.Contains(msg, "ending is disabled for this account"); got != disabled || strings.Contains(msg, "POP3/IMAP first") == disabled {
			t.Errorf("%s: %q, want sending disabled: %v", what, msg, disabled)
		}
	}

	c := dial(t, e.sub, "127.0.0.2", false)
	c.ehlo()
	says("submission, MAIL FROM bob", c.must(530, "MAIL FROM:<%s>", bob), true)
	says("submission, MAIL FROM alice", c.must(530, "MAIL FROM:<%s>", alice), false)
	c.cmd("QUIT")

	c = dial(t, e.mx, "127.0.0.2", false)
	c.ehlo()
	c.must(250, "MAIL FROM:<%s>", bob)
	c.must(250, "RCPT TO:<%s>", alice) // inbound mail stays accepted
	says("MX, RCPT remote", c.must(554, "RCPT TO:<friend@far.test>"), true)
	c.cmd("QUIT")

	c = dial(t, e.sub, "127.0.0.3", false)
	c.ehlo()
	says("submission elsewhere, MAIL FROM bob", c.must(530, "MAIL FROM:<%s>", bob), false)
	c.cmd("QUIT")

	c = dial(t, e.sub, "127.0.0.2", false)
	c.ehlo()
	c.starttls()
	code, msg := c.authPlain("", bob, userPass)
	if code != 535 || !strings.Contains(msg, "may not send mail") {
		t.Errorf("AUTH as bob: %d %s, want 535 saying the account may not send", code, msg)
	}
}
