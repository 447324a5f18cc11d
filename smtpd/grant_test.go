package main

import (
	"testing"
	"time"
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
