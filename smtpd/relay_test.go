package main

import (
	"strings"
	"testing"
	"time"
)

// relayCase is one route through smtpd: who connects where, how they
// identify, and what MAIL FROM and RCPT TO must answer.
type relayCase struct {
	name     string
	port     string // "mx", "sub", "subs"
	ip       string // local address to connect from
	tls      bool   // STARTTLS first (implied for subs)
	user     string // AUTH PLAIN as this login ("" = none)
	pass     string
	from     string
	rcpt     string
	wantMail int
	wantRcpt int // checked when MAIL got 250
}

// TestRelayBattery drives every relay route over real sockets. Anything
// that would relay mail for a stranger must be refused; the sanctioned
// routes must work end to end (DATA committed).
func TestRelayBattery(t *testing.T) {
	e := newEnv(t)
	for _, tc := range relayBattery(e) {
		t.Run(tc.name, func(t *testing.T) { runRelayCase(t, e, tc) })
	}
}

// relayBattery records the battery's grants in e's store and returns its
// cases.
func relayBattery(e *testEnv) []relayCase {
	e.grant("127.0.0.2", alice, time.Hour)
	e.grant("127.0.0.4", alice, -time.Minute) // expired
	e.grant("127.0.0.5", bob, time.Hour)      // bob has no SMTP authority
	const far = "victim@far.test"

	return []relayCase{
		// Refused.
		{name: "no auth", port: "mx", from: "spam@spam.test", rcpt: far, wantMail: 250, wantRcpt: 554},
		{name: "no auth spoofing local sender", port: "mx", from: alice, rcpt: far, wantMail: 250, wantRcpt: 554},
		{name: "no auth after STARTTLS", port: "mx", tls: true, from: alice, rcpt: far, wantMail: 250, wantRcpt: 554},
		{name: "grant for another IP", port: "mx", ip: "127.0.0.3", from: alice, rcpt: far, wantMail: 250, wantRcpt: 554},
		{name: "expired grant", port: "mx", ip: "127.0.0.4", from: alice, rcpt: far, wantMail: 250, wantRcpt: 554},
		{name: "grant of user without SMTP", port: "mx", ip: "127.0.0.5", from: bob, rcpt: far, wantMail: 250, wantRcpt: 554},
		{name: "grant, sender of another user", port: "mx", ip: "127.0.0.2", from: bob, rcpt: far, wantMail: 250, wantRcpt: 553},
		{name: "grant, foreign sender", port: "mx", ip: "127.0.0.2", from: "x@spam.test", rcpt: far, wantMail: 250, wantRcpt: 553},
		{name: "grant on submission, wrong sender", port: "sub", ip: "127.0.0.2", from: bob, wantMail: 553},
		{name: "domain credential for another domain", port: "mx", tls: true, user: "other.test", pass: domainPass, from: alice, wantMail: 553},
		{name: "user credential, foreign sender", port: "sub", tls: true, user: alice, pass: userPass, from: bob, wantMail: 553},
		{name: "user credential, remote sender", port: "sub", tls: true, user: alice, pass: userPass, from: "alice@gmail.test", wantMail: 553},
		{name: "percent hack", port: "mx", from: "x@spam.test", rcpt: "victim%far.test@example.com", wantMail: 250, wantRcpt: 553},
		{name: "bang path", port: "mx", from: "x@spam.test", rcpt: "far.test!victim@example.com", wantMail: 250, wantRcpt: 553},
		{name: "quoted local part", port: "mx", from: "x@spam.test", rcpt: `"victim@far.test"@example.com`, wantMail: 250, wantRcpt: 553},
		{name: "source route", port: "mx", from: "x@spam.test", rcpt: "@example.com:victim@far.test", wantMail: 250, wantRcpt: 554},
		{name: "source route, two hops", port: "mx", from: "x@spam.test", rcpt: "@mx.example.com,@example.com:victim@far.test", wantMail: 250, wantRcpt: 554},
		{name: "percent hack with grant IP elsewhere", port: "mx", ip: "127.0.0.3", from: "x@spam.test", rcpt: "victim%far.test@other.test", wantMail: 250, wantRcpt: 553},
		{name: "submission without auth, local rcpt", port: "sub", from: "x@spam.test", wantMail: 530},
		{name: "submission without auth, local sender", port: "sub", tls: true, from: alice, wantMail: 530},
		{name: "submissions without auth", port: "subs", from: alice, wantMail: 530},
		{name: "null sender on submission", port: "sub", tls: true, user: alice, pass: userPass, from: "", wantMail: 553},
		{name: "null sender relaying", port: "mx", from: "", rcpt: far, wantMail: 250, wantRcpt: 554},
		{name: "unknown local user", port: "mx", from: "x@spam.test", rcpt: "nobody@example.com", wantMail: 250, wantRcpt: 550},
		{name: "domain literal", port: "mx", from: "x@spam.test", rcpt: "victim@[192.0.2.1]", wantMail: 250, wantRcpt: 553},

		// Accepted.
		{name: "inbound to user", port: "mx", from: "friend@far.test", rcpt: alice, wantMail: 250, wantRcpt: 250},
		{name: "inbound to alias", port: "mx", from: "friend@far.test", rcpt: "INFO@Example.COM", wantMail: 250, wantRcpt: 250},
		{name: "inbound to postmaster", port: "mx", from: "friend@far.test", rcpt: "postmaster@other.test", wantMail: 250, wantRcpt: 250},
		{name: "bounce to user", port: "mx", from: "", rcpt: alice, wantMail: 250, wantRcpt: 250},
		{name: "user credential relays", port: "mx", tls: true, user: alice, pass: userPass, from: alice, rcpt: far, wantMail: 250, wantRcpt: 250},
		{name: "user credential, alias sender", port: "sub", tls: true, user: alice, pass: userPass, from: "info@example.com", rcpt: far, wantMail: 250, wantRcpt: 250},
		{name: "domain credential, any sender of its domain", port: "sub", tls: true, user: "example.com", pass: domainPass, from: "anyone@example.com", rcpt: far, wantMail: 250, wantRcpt: 250},
		{name: "submissions with auth", port: "subs", user: alice, pass: userPass, from: alice, rcpt: far, wantMail: 250, wantRcpt: 250},
		{name: "grant IP, foreign sender, local rcpt", port: "mx", ip: "127.0.0.2", from: "alerts@far.test", rcpt: carol, wantMail: 250, wantRcpt: 250},
		{name: "grant relays on mx", port: "mx", ip: "127.0.0.2", from: alice, rcpt: far, wantMail: 250, wantRcpt: 250},
		{name: "grant relays on submission", port: "sub", ip: "127.0.0.2", from: alice, rcpt: far, wantMail: 250, wantRcpt: 250},
		{name: "grant, local rcpt on submission", port: "sub", ip: "127.0.0.2", from: "info@example.com", rcpt: carol, wantMail: 250, wantRcpt: 250},
	}
}

// runRelayCase runs one case over a real socket, checks the replies and,
// for an accepted recipient, that the message was stored once. It returns
// the codes of MAIL FROM and of RCPT TO (0 when MAIL was refused).
func runRelayCase(t *testing.T, e *testEnv, tc relayCase) (mailCode, rcptCode int) {
	addr := map[string]string{"mx": e.mx, "sub": e.sub, "subs": e.subs}[tc.port]
	c := dial(t, addr, tc.ip, tc.port == "subs")
	c.ehlo()
	if tc.tls {
		c.starttls()
	}
	if tc.user != "" {
		if code, msg := c.authPlain("", tc.user, tc.pass); code != 235 {
			t.Fatalf("AUTH: %d %s", code, msg)
		}
	}
	mailCode, msg := c.cmd("MAIL FROM:<%s>", tc.from)
	if mailCode != tc.wantMail {
		t.Fatalf("MAIL FROM:<%s>: got %d %s, want %d", tc.from, mailCode, msg, tc.wantMail)
	}
	if mailCode != 250 {
		return mailCode, 0
	}
	rcpt := tc.recipient()
	rcptCode, msg = c.cmd("RCPT TO:<%s>", rcpt)
	if rcptCode != tc.wantRcpt {
		t.Fatalf("RCPT TO:<%s>: got %d %s, want %d", rcpt, rcptCode, msg, tc.wantRcpt)
	}
	if rcptCode != 250 {
		if code, _ := c.cmd("DATA"); code/100 != 5 {
			t.Fatalf("DATA without recipients: %d", code)
		}
		return mailCode, rcptCode
	}
	subject := "battery " + tc.name
	if code, msg := c.data(testBody(subject)); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	c.must(221, "QUIT")
	var got []string
	if strings.HasSuffix(rcpt, "far.test") {
		got = e.queued(rcpt)
	} else {
		for _, u := range []string{alice, carol} {
			got = append(got, e.inbox(u)...)
		}
	}
	n := 0
	for _, b := range got {
		if strings.Contains(b, "Subject: "+subject+"\r\n") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("message %q stored %d times, want 1", subject, n)
	}
	return mailCode, rcptCode
}

// recipient is the case's RCPT TO address: alice when it names none.
func (tc relayCase) recipient() string {
	if tc.rcpt == "" {
		return alice
	}
	return tc.rcpt
}
