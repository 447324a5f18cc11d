package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailsuite/shared/auth"
	"mailsuite/shared/config"
)

func TestEHLOCapabilities(t *testing.T) {
	e := newEnv(t)
	c := dial(t, e.mx, "", false)
	caps := c.ehlo()
	for _, want := range []string{"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "STARTTLS", "SIZE 65536"} {
		if !strings.Contains(caps, want) {
			t.Errorf("EHLO before TLS lacks %s:\n%s", want, caps)
		}
	}
	if strings.Contains(caps, "AUTH") {
		t.Errorf("AUTH advertised before TLS:\n%s", caps)
	}
	if code, _ := c.authPlain("", alice, userPass); code != 523 {
		t.Errorf("AUTH before TLS: %d, want 523", code)
	}
	c.must(220, "STARTTLS")
	c.conn = tlsClient(c.conn)
	c.tp = newText(c.conn)
	caps = c.ehlo()
	if !strings.Contains(caps, "AUTH PLAIN LOGIN") || strings.Contains(caps, "STARTTLS") {
		t.Errorf("EHLO after TLS:\n%s", caps)
	}
}

func TestCommandsOutOfOrder(t *testing.T) {
	e := newEnv(t)
	c := dial(t, e.mx, "", false)
	if code, _ := c.cmd("MAIL FROM:<x@far.test>"); code/100 != 5 {
		t.Errorf("MAIL before EHLO: %d", code)
	}
	c.ehlo()
	if code, _ := c.cmd("RCPT TO:<%s>", alice); code/100 != 5 {
		t.Errorf("RCPT before MAIL: %d", code)
	}
	c.must(250, "MAIL FROM:<x@far.test>")
	if code, _ := c.cmd("DATA"); code/100 != 5 {
		t.Errorf("DATA without RCPT: %d", code)
	}
	if code, _ := c.cmd("VRFY %s", alice); code != 252 {
		t.Errorf("VRFY: %d, want 252", code)
	}
	if code, msg := c.cmd("VRFY nobody@example.com"); code != 252 {
		t.Errorf("VRFY unknown: %d %s, want 252 (no user enumeration)", code, msg)
	}
	if code, msg := c.cmd("ETRN example.com"); code != 502 {
		t.Errorf("ETRN: %d %s, want 502 (not implemented)", code, msg)
	}
	for _, bad := range []string{"MAIL FROM:alice", "MAIL FROM:<a@b", "MAIL TO:<x@far.test>", "RCPT TO:<>",
		"MAIL FROM:<a\x00b@far.test>", "MAIL FROM:<" + strings.Repeat("a", 65) + "@far.test>"} {
		if code, msg := c.cmd("%s", bad); code/100 != 5 {
			t.Errorf("%q: %d %s, want 5xx", bad, code, msg)
		}
	}
	c.must(250, "RSET")
	c.must(250, "MAIL FROM:<x@far.test>")
	c.must(250, "RCPT TO:<%s>", alice)
	if code, msg := c.data(testBody("after errors")); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
}

// TestPostmaster: RFC 5321 §4.5.1 postmaster (with and without a domain)
// and abuse@ are accepted and read by someone, even for a domain without
// users; "postmaster" is no sender address.
// TestPostmasterSingleLabelHost: the bare postmaster is accepted when the
// hostname has one label, as "localhost" in make run.
func TestPostmasterSingleLabelHost(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Hostname = "localhost" })
	c := dial(t, e.mx, "", false)
	c.ehlo()
	c.must(250, "MAIL FROM:<friend@far.test>")
	c.must(250, "RCPT TO:<postmaster>")
	if code, msg := c.data(testBody("to the postmaster")); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	if got := e.inbox(alice); len(got) != 1 {
		t.Errorf("first user's INBOX: %d messages, want 1", len(got))
	}
}

func TestPostmaster(t *testing.T) {
	e := newEnv(t)
	if err := e.st.AddDomain(context.Background(), "empty.test"); err != nil {
		t.Fatal(err)
	}
	c := dial(t, e.mx, "", false)
	c.ehlo()
	if code, msg := c.cmd("MAIL FROM:<postmaster>"); code/100 != 5 {
		t.Errorf("MAIL FROM:<postmaster>: %d %s, want 5xx", code, msg)
	}
	c.must(250, "MAIL FROM:<friend@far.test>")
	for _, rcpt := range []string{"postmaster", "PostMaster", "abuse@empty.test", "postmaster@empty.test"} {
		c.must(250, "RCPT TO:<%s>", rcpt)
	}
	for _, bad := range []string{"RCPT TO:<postmaster", "RCPT TO:<postmasterx>", "RCPT TO:<postmaster> junk", "RCPT TO:postmaster"} {
		if code, msg := c.cmd("%s", bad); code/100 != 5 {
			t.Errorf("%q: %d %s, want 5xx", bad, code, msg)
		}
	}
	if code, _ := c.cmd("RCPT TO:<nobody@empty.test>"); code != 550 {
		t.Errorf("unknown user of a domain without users: %d, want 550", code)
	}
	if code, msg := c.data(testBody("to the postmaster")); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	// alice is the store's first user: one copy, however many postmasters.
	if got := e.inbox(alice); len(got) != 1 || !strings.Contains(got[0], "to the postmaster") {
		t.Errorf("first user's INBOX: %d messages, want 1", len(got))
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name  string
		login func(c *client) (int, string)
		want  int
	}{
		{"plain", func(c *client) (int, string) { return c.authPlain("", alice, userPass) }, 235},
		{"plain authzid equal", func(c *client) (int, string) { return c.authPlain(alice, alice, userPass) }, 235},
		{"plain mixed case login", func(c *client) (int, string) { return c.authPlain("", "Alice@Example.com", userPass) }, 235},
		{"plain authzid other user", func(c *client) (int, string) { return c.authPlain(carol, alice, userPass) }, 535},
		{"plain bad password", func(c *client) (int, string) { return c.authPlain("", alice, "wrong") }, 535},
		{"plain unknown user", func(c *client) (int, string) { return c.authPlain("", "nobody@example.com", userPass) }, 535},
		{"plain smtp disabled", func(c *client) (int, string) { return c.authPlain("", bob, userPass) }, 535},
		{"plain malformed", func(c *client) (int, string) { return c.cmd("AUTH PLAIN %s", "bm9udWxscw==") }, 501},
		{"plain no initial response", func(c *client) (int, string) {
			c.must(334, "AUTH PLAIN")
			return c.cmd("%s", b64("\x00"+alice+"\x00"+userPass))
		}, 235},
		{"login", func(c *client) (int, string) { return c.authLogin(alice, userPass) }, 235},
		{"login domain credential", func(c *client) (int, string) { return c.authLogin("example.com", domainPass) }, 235},
		{"login bad password", func(c *client) (int, string) { return c.authLogin(alice, "wrong") }, 535},
		{"login initial response", func(c *client) (int, string) {
			c.must(334, "AUTH LOGIN %s", b64(alice))
			return c.cmd("%s", b64(userPass))
		}, 235},
		{"login cancelled", func(c *client) (int, string) {
			c.must(334, "AUTH LOGIN")
			return c.cmd("*")
		}, 501},
		{"unknown mechanism", func(c *client) (int, string) { return c.cmd("AUTH CRAM-MD5") }, 504},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, e.sub, "", false)
			c.ehlo()
			c.starttls()
			code, msg := tc.login(c)
			if code != tc.want {
				t.Fatalf("got %d %s, want %d", code, msg, tc.want)
			}
			if code == 235 {
				if code, _ := c.cmd("AUTH PLAIN %s", b64("\x00"+alice+"\x00"+userPass)); code != 503 {
					t.Errorf("second AUTH: %d, want 503", code)
				}
			}
		})
	}
	if !e.log.contains(`msg="auth failed" proto=smtp ip=127.0.0.1 user=alice@example.com reason="bad password"`) {
		t.Errorf("auth failure not logged:\n%s", e.log)
	}
	if !e.log.contains(`msg="auth refused" proto=smtp ip=127.0.0.1 user=bob@example.com`) {
		t.Errorf("SMTP-disabled refusal not logged:\n%s", e.log)
	}
}

// TestAuthThrottled: after too many failures from one IP even the right
// password is refused, and the store holds the count.
func TestAuthThrottled(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < auth.MaxFailuresPerAccount; i++ {
		c := dial(t, e.sub, "", false)
		c.ehlo()
		c.starttls()
		if code, _ := c.authPlain("", alice, "wrong"); code != 535 {
			t.Fatalf("failure %d: %d", i, code)
		}
	}
	c := dial(t, e.sub, "", false)
	c.ehlo()
	c.starttls()
	if code, msg := c.authPlain("", alice, userPass); code/100 != 4 {
		t.Fatalf("throttled login: %d %s, want 4xx", code, msg)
	}
	e.clock.Add(auth.ThrottleWindow + time.Second)
	if code, msg := c.authPlain("", alice, userPass); code != 235 {
		t.Fatalf("after the window: %d %s", code, msg)
	}
}

// TestSTARTTLSForgets: what was said before STARTTLS (AUTH, MAIL) does
// not survive it (RFC 3207), while the peer IP does.
func TestSTARTTLSForgets(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Auth.AllowPlaintext = true })
	e.grant("127.0.0.2", alice, time.Hour)
	c := dial(t, e.mx, "", false)
	c.ehlo()
	if code, msg := c.authPlain("", alice, userPass); code != 235 {
		t.Fatalf("plaintext AUTH with allow_plaintext: %d %s", code, msg)
	}
	c.must(250, "MAIL FROM:<%s>", alice)
	c.must(220, "STARTTLS")
	c.conn = tlsClient(c.conn)
	c.tp = newText(c.conn)
	if code, _ := c.cmd("RCPT TO:<x@far.test>"); code/100 != 5 {
		t.Fatalf("RCPT after STARTTLS without EHLO: %d", code)
	}
	c.ehlo()
	c.must(250, "MAIL FROM:<%s>", alice)
	if code, _ := c.cmd("RCPT TO:<x@far.test>"); code != 554 {
		t.Fatalf("relay after STARTTLS dropped AUTH: %d, want 554", code)
	}

	g := dial(t, e.sub, "127.0.0.2", false)
	g.ehlo()
	g.starttls()
	g.must(250, "MAIL FROM:<%s>", alice)
	g.must(250, "RCPT TO:<x@far.test>")
}

func TestMaxRecipients(t *testing.T) {
	e := newEnv(t)
	c := dial(t, e.mx, "", false)
	c.ehlo()
	c.must(250, "MAIL FROM:<x@far.test>")
	for i := 0; i < e.cfg.SMTPD.MaxRecipients; i++ {
		c.must(250, "RCPT TO:<%s>", alice)
	}
	code, msg := c.cmd("RCPT TO:<%s>", carol)
	if code != 452 || !strings.HasPrefix(msg, "4.5.3") {
		t.Fatalf("over max_recipients: %d %s, want 452 4.5.3", code, msg)
	}
	if code, msg := c.data(testBody("many")); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	if n := len(e.inbox(alice)); n != 1 {
		t.Fatalf("alice got %d copies, want 1 (duplicates merged)", n)
	}
}

func b64(s string) string { return encodeB64(s) }
