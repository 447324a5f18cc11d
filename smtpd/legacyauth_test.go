package main

import (
	"slices"
	"strings"
	"testing"

	"mailsuite/shared/config"
)

// authLines returns the AUTH lines of an EHLO reply.
func authLines(ehlo string) []string {
	var out []string
	for _, l := range strings.Split(ehlo, "\n") {
		if strings.HasPrefix(l, "AUTH") {
			out = append(out, l)
		}
	}
	return out
}

// TestLegacyAuthLine: with smtpd.legacy_auth_line, EHLO carries
// "AUTH=PLAIN LOGIN" after "AUTH PLAIN LOGIN" wherever AUTH is offered
// (after STARTTLS, on implicit TLS; with auth.allow_plaintext before TLS
// too), and a client that found it there logs in with AUTH LOGIN as
// Outlook Express 4 does. Without the setting, there is no such line.
func TestLegacyAuthLine(t *testing.T) {
	both := []string{"AUTH PLAIN LOGIN", "AUTH=PLAIN LOGIN"}
	e := newEnv(t, func(c *config.Config) { c.SMTPD.LegacyAuthLine = true })
	for _, port := range []string{e.mx, e.sub} {
		c := dial(t, port, "", false)
		if got := authLines(c.ehlo()); len(got) != 0 {
			t.Errorf("before STARTTLS: %q, want no AUTH line (plaintext auth is off)", got)
		}
		c.must(220, "STARTTLS")
		c.switchTLS()
		if got := authLines(c.ehlo()); !slices.Equal(got, both) {
			t.Errorf("after STARTTLS: %q, want %q", got, both)
		}
		if code, msg := c.authLogin(alice, userPass); code != 235 {
			t.Errorf("AUTH LOGIN: %d %s", code, msg)
		}
	}
	c := dial(t, e.subs, "", true)
	if got := authLines(c.ehlo()); !slices.Equal(got, both) {
		t.Errorf("implicit TLS: %q, want %q", got, both)
	}

	plain := newEnv(t, func(c *config.Config) { c.SMTPD.LegacyAuthLine, c.Auth.AllowPlaintext = true, true })
	if got := authLines(dial(t, plain.sub, "", false).ehlo()); !slices.Equal(got, both) {
		t.Errorf("allow_plaintext, before TLS: %q, want %q", got, both)
	}

	off := newEnv(t)
	c = dial(t, off.subs, "", true)
	if got := authLines(c.ehlo()); !slices.Equal(got, both[:1]) {
		t.Errorf("legacy_auth_line off: %q, want %q", got, both[:1])
	}
}
