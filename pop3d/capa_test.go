package main

import (
	"slices"
	"testing"
)

func capa(c *testconn) []string {
	c.cmd("CAPA", "+OK")
	return c.multi()
}

func TestCapaBeforeTLS(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	got := capa(c)
	for _, want := range []string{"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING",
		"EXPIRE NEVER", "LOGIN-DELAY 0", "STLS", "IMPLEMENTATION mailsuite-pop3d"} {
		if !slices.Contains(got, want) {
			t.Errorf("CAPA lacks %q: %q", want, got)
		}
	}
	// RFC 2595: no login mechanisms advertised before TLS.
	for _, bad := range []string{"USER", "SASL PLAIN LOGIN"} {
		if slices.Contains(got, bad) {
			t.Errorf("CAPA advertises %q before TLS: %q", bad, got)
		}
	}
	c.starttls(e.certPool)
	got = capa(c)
	if !slices.Contains(got, "USER") || !slices.Contains(got, "SASL PLAIN LOGIN") || slices.Contains(got, "STLS") {
		t.Errorf("CAPA after STLS: %q", got)
	}
}

func TestCapaPlaintextAllowed(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	got := capa(c)
	if !slices.Contains(got, "USER") || !slices.Contains(got, "SASL PLAIN LOGIN") {
		t.Errorf("CAPA: %q", got)
	}
	c.cmd("USER "+testUser, "+OK")
	c.cmd("PASS "+testPass, "+OK")
	got = capa(c)
	// RFC 2449 section 5: the AUTHORIZATION state's capabilities are
	// announced in the TRANSACTION state too; STLS cannot be used there.
	if !slices.Contains(got, "USER") || !slices.Contains(got, "SASL PLAIN LOGIN") ||
		slices.Contains(got, "STLS") || !slices.Contains(got, "UIDL") {
		t.Errorf("CAPA after login: %q", got)
	}
	c.cmd("CAPA x", "-ERR")
}
