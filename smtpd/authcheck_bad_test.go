package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"
	"github.com/miekg/dns"

	"mailsuite/shared/config"
)

// Bad input to the inbound checks: malformed signatures and keys, huge
// records, SPF loops and limits, DNS failures. Each message gets a clear
// permerror or temperror and is delivered (the policies below never
// refuse it), and the server goes on serving.

// txt64K is a TXT record of 64 000 bytes, near the largest DNS message.
func txt64K(prefix string) string {
	return prefix + strings.Repeat("x", 250*255-len(prefix))
}

func TestInboundBadDKIM(t *testing.T) {
	e := inboundEnv(t, config.DMARCEnforce)
	e.dns.Add(t, `bad64._domainkey.sender.test. 60 IN TXT "v=DKIM1; k=rsa; p=!!!notbase64"`)
	e.dns.Add(t, `garbage._domainkey.sender.test. 60 IN TXT "v=DKIM1; k=rsa; p=AAAAAAAA"`)
	e.dns.Add(t, `revoked._domainkey.sender.test. 60 IN TXT "v=DKIM1; k=rsa; p="`)
	e.dns.Add(t, `unknownk._domainkey.sender.test. 60 IN TXT "v=DKIM1; k=foo; p=AAAA"`)
	e.dns.Add(t, `twice._domainkey.sender.test. 60 IN TXT "v=DKIM1; p=AAAA"`)
	e.dns.Add(t, `twice._domainkey.sender.test. 60 IN TXT "v=DKIM1; p=BBBB"`)
	e.dns.Add(t, `slow._domainkey.sender.test. 60 IN TXT "v=DKIM1; p=AAAA"`)
	e.dns.Add(t, `servfail._domainkey.sender.test. 60 IN TXT "v=DKIM1; p=AAAA"`)
	addTXT(e, "huge._domainkey.sender.test", txt64K("v=DKIM1; k=rsa; p="))
	e.dns.Delay("slow._domainkey.sender.test", 2*testLookupTimeout)
	e.dns.Fail("servfail._domainkey.sender.test", dns.RcodeServerFailure)

	signed := dkimSign(t, message("news@sender.test", "bad-dkim"), "sender.test")
	withSelector := func(sel string) string { return strings.Replace(signed, "s=sel;", "s="+sel+";", 1) }
	unsigned := message("news@sender.test", "bad-dkim")
	tests := []struct {
		name, msg string
		want      authres.ResultValue
	}{
		{"missing tags", "DKIM-Signature: v=1; a=rsa-sha256; d=sender.test\r\n" + unsigned, authres.ResultPermError},
		{"no tags at all", "DKIM-Signature: garbage without equals\r\n" + unsigned, authres.ResultPermError},
		{"empty", "DKIM-Signature:\r\n" + unsigned, authres.ResultPermError},
		{"version 2", strings.Replace(signed, "v=1;", "v=2;", 1), authres.ResultPermError},
		{"rsa-sha1", strings.Replace(signed, "a=rsa-sha256", "a=rsa-sha1", 1), authres.ResultPermError},
		{"bad base64 signature", strings.Replace(signed, " b=", " b=!!!", 1), authres.ResultPermError},
		{"huge tag", "DKIM-Signature: v=1; a=rsa-sha256; d=sender.test; s=sel; h=from; bh=" +
			strings.Repeat("\r\n AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 500) +
			"; b=AAAA\r\n" + unsigned, authres.ResultFail}, // the body hash differs
		{"no key", withSelector("missing"), authres.ResultPermError},
		{"key not base64", withSelector("bad64"), authres.ResultPermError},
		{"key not a key", withSelector("garbage"), authres.ResultPermError},
		{"key revoked", withSelector("revoked"), authres.ResultPermError},
		{"unknown key type", withSelector("unknownk"), authres.ResultPermError},
		{"two key records", withSelector("twice"), authres.ResultPermError},
		{"64 KB key record", withSelector("huge"), authres.ResultPermError},
		{"key lookup times out", withSelector("slow"), authres.ResultTempError},
		{"key lookup SERVFAIL", withSelector("servfail"), authres.ResultTempError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// SPF passes aligned: DMARC passes whatever DKIM says.
			rs := ourResults(t, deliver(t, e, "client.test", "a@sender.test", tt.msg, "INBOX"))
			if v, reason := result(rs, "dkim", "sender.test"); v != tt.want && !(v == "" && tt.want == authres.ResultPermError) {
				t.Errorf("dkim = %q (%s), want %q", v, reason, tt.want)
			}
			wantResult(t, rs, "dmarc", "sender.test", authres.ResultPass)
		})
	}

	// Ten signatures: five are verified, the rest ignored.
	many := strings.Repeat(signed[:strings.Index(signed, "From:")], 10) + unsigned
	rs := ourResults(t, deliver(t, e, "client.test", "a@sender.test", many, "INBOX"))
	n := 0
	for _, r := range rs {
		if _, ok := r.(*authres.DKIMResult); ok {
			n++
		}
	}
	if n != maxSignatures {
		t.Errorf("%d DKIM results for 10 signatures, want %d", n, maxSignatures)
	}
}

func TestInboundBadSPF(t *testing.T) {
	e := inboundEnv(t, config.DMARCEnforce)
	for _, r := range []string{
		`loop1.test. 60 IN TXT "v=spf1 include:loop2.test -all"`,
		`loop2.test. 60 IN TXT "v=spf1 include:loop1.test -all"`,
		`void.test. 60 IN TXT "v=spf1 a:v1.test a:v2.test a:v3.test ip4:127.0.0.1 -all"`,
		`many.test. 60 IN TXT "v=spf1 a:n1.test a:n2.test a:n3.test a:n4.test a:n5.test a:n6.test a:n7.test a:n8.test a:n9.test a:n10.test a:n11.test ip4:127.0.0.1 -all"`,
		`two.test. 60 IN TXT "v=spf1 -all"`,
		`two.test. 60 IN TXT "v=spf1 +all"`,
		`syntax.test. 60 IN TXT "v=spf1 ip4:not-an-ip -all"`,
	} {
		e.dns.Add(t, r)
	}
	for i := 1; i <= 11; i++ {
		e.dns.Add(t, fmt.Sprintf("n%d.test. 60 IN A 192.0.2.1", i))
	}
	addTXT(e, "huge.test", txt64K("v=spf1 ip4:192.0.2.1 ")[:60000]+" -all")
	addTXT(e, "hugeloop.test", "v=spf1"+strings.Repeat(" include:loop1.test", 3000)+" -all")

	// Each of these records is a permerror.
	for _, domain := range []string{"loop1.test", "void.test", "many.test", "two.test", "syntax.test", "huge.test", "hugeloop.test"} {
		t.Run(domain, func(t *testing.T) {
			before := e.dns.Queries("loop1.test", "TXT") + e.dns.Queries("loop2.test", "TXT")
			from := "a@" + domain
			rs := ourResults(t, deliver(t, e, "client.test", from, message(from, "bad-spf"), "INBOX"))
			wantResult(t, rs, "spf", from, authres.ResultPermError)
			if n := e.dns.Queries("loop1.test", "TXT") + e.dns.Queries("loop2.test", "TXT") - before; n > 11 {
				t.Errorf("%d lookups of the include loop, want at most 11 (RFC 7208 §4.6.4)", n)
			}
		})
	}
}

func TestInboundBadDMARC(t *testing.T) {
	e := inboundEnv(t, config.DMARCEnforce)
	for _, r := range []string{
		`_dmarc.bogus.test. 60 IN TXT "v=DMARC1; p=bogus"`,
		`_dmarc.servfail.test. 60 IN TXT "v=DMARC1; p=reject"`,
		`_dmarc.slow.test. 60 IN TXT "v=DMARC1; p=reject"`,
		`_dmarc.org.test. 60 IN TXT "v=DMARC1; p=none; sp=reject"`,
	} {
		e.dns.Add(t, r)
	}
	e.dns.Fail("_dmarc.servfail.test", dns.RcodeServerFailure)
	e.dns.Delay("_dmarc.slow.test", 2*testLookupTimeout)
	addTXT(e, "_dmarc.huge.test", txt64K("v=DMARC1; p=reject; x="))

	tests := []struct {
		from string
		want authres.ResultValue
	}{
		{"a@bogus.test", authres.ResultPermError},
		{"a@servfail.test", authres.ResultTempError},
		{"a@slow.test", authres.ResultTempError},
		{"a@huge.test", authres.ResultFail}, // unknown tags are ignored
	}
	for _, tt := range tests {
		t.Run(tt.from, func(t *testing.T) {
			msg := message(tt.from, "bad-dmarc")
			if tt.want == authres.ResultFail {
				if code, text := sendMX(t, e, "client.test", tt.from, msg); code != 550 {
					t.Fatalf("%d %s, want 550 under p=reject", code, text)
				}
				return
			}
			rs := ourResults(t, deliver(t, e, "client.test", tt.from, msg, "INBOX"))
			wantResult(t, rs, "dmarc", domainOf(tt.from), tt.want)
		})
	}

	// A subdomain without a record of its own takes its organizational
	// domain's sp=.
	if code, text := sendMX(t, e, "client.test", "a@mail.org.test", message("a@mail.org.test", "sub")); code != 550 {
		t.Errorf("subdomain under sp=reject: %d %s, want 550", code, text)
	}
	// Too many From domains, or none: a permerror, never enforced.
	authors := "From: a@a.test, b@b.test, c@c.test, d@d.test, e@e.test, f@sender.test\r\n"
	for _, msg := range []string{authors + "Subject: many\r\n\r\nx\r\n", "Subject: no From\r\n\r\nx\r\n"} {
		rs := ourResults(t, deliver(t, e, "client.test", "a@fail.test", msg, "INBOX"))
		if v, _ := result(rs, "dmarc", ""); v != authres.ResultPermError {
			t.Errorf("dmarc = %q, want permerror", v)
		}
	}
	// Two From fields: each domain answers; the forged one refuses it.
	two := "From: a@none.test\r\nFrom: ceo@sender.test\r\nSubject: two\r\n\r\nx\r\n"
	if code, text := sendMX(t, e, "client.test", "a@fail.test", two); code != 550 {
		t.Errorf("second From field of a p=reject domain: %d %s, want 550", code, text)
	}
}

// TestInboundHeaderTooLarge: a header section over 1 MiB is refused; the
// session goes on.
func TestInboundHeaderTooLarge(t *testing.T) {
	e := inboundEnv(t, config.DMARCHeader, func(c *config.Config) { c.SMTPD.MaxMessageBytes = 4 << 20 })
	big := strings.Repeat("X-Filler: "+strings.Repeat("y", 80)+"\r\n", (maxHeader/92)+10) + "\r\nbody\r\n"
	c := dial(t, e.mx, "127.0.0.1", false)
	c.ehlo()
	c.must(250, "MAIL FROM:<a@sender.test>")
	c.must(250, "RCPT TO:<%s>", alice)
	if code, text := c.data(big); code != 552 || !strings.HasPrefix(text, "5.3.4 ") {
		t.Fatalf("header over 1 MiB: %d %s, want 552 5.3.4", code, text)
	}
	c.must(250, "MAIL FROM:<a@sender.test>")
	c.must(250, "RCPT TO:<%s>", alice)
	if code, text := c.data(message("a@sender.test", "after")); code != 250 {
		t.Fatalf("next message: %d %s", code, text)
	}
	// A large message whose header is small is checked and stored whole.
	large := "Authentication-Results: mx.example.com; dkim=pass\r\n" + message("a@sender.test", "large") + strings.Repeat(strings.Repeat("z", 98)+"\r\n", 20000)
	got := deliver(t, e, "client.test", "a@sender.test", large, "INBOX")
	rs := ourResults(t, got)
	wantResult(t, rs, "spf", "a@sender.test", authres.ResultPass)
	if !strings.HasSuffix(got, "\r\n"+message("a@sender.test", "large")+strings.Repeat(strings.Repeat("z", 98)+"\r\n", 20000)) {
		t.Error("the spooled message was not stored whole without the forged field")
	}
}
