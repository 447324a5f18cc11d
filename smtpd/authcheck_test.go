package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"
	"github.com/miekg/dns"

	"mailsuite/internal/testutil"
	"mailsuite/shared/config"
)

// The tests of the inbound checks run the real smtpd on loopback with
// dns.resolver pointed at a DNS server on loopback (internal/dnstest)
// serving the sender domains below; messages are signed by python3-dkim's
// dkimsign, an implementation independent of the verifier.
//
//	sender.test  SPF pass for 127.0.0.1, DKIM key "sel", DMARC p=reject
//	fail.test    SPF -all             soft.test  SPF ~all
//	quar.test    DMARC p=quarantine   none.test  DMARC p=none
func inboundEnv(t *testing.T, mode string, edit ...func(*config.Config)) *testEnv {
	t.Helper()
	e := newEnv(t, append([]func(*config.Config){func(c *config.Config) { c.SMTPD.DMARC = mode }}, edit...)...)
	for _, r := range []string{
		`sender.test. 60 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"`,
		`_dmarc.sender.test. 60 IN TXT "v=DMARC1; p=reject"`,
		`fail.test. 60 IN TXT "v=spf1 ip4:192.0.2.1 -all"`,
		`soft.test. 60 IN TXT "v=spf1 ~all"`,
		`quar.test. 60 IN TXT "v=spf1 -all"`,
		`_dmarc.quar.test. 60 IN TXT "v=DMARC1; p=quarantine"`,
		`none.test. 60 IN TXT "v=spf1 -all"`,
		`_dmarc.none.test. 60 IN TXT "v=DMARC1; p=none"`,
		`_dmarc.example.com. 60 IN TXT "v=DMARC1; p=reject"`,
		`example.com. 60 IN TXT "v=spf1 -all"`,
	} {
		e.dns.Add(t, r)
	}
	addTXT(e, "sel._domainkey.sender.test", "v=DKIM1; k=rsa; p="+dkimPublic(t))
	return e
}

// addTXT adds a TXT record of any length, in strings of 255 bytes.
func addTXT(e *testEnv, name, value string) {
	var parts []string
	for len(value) > 255 {
		parts = append(parts, value[:255])
		value = value[255:]
	}
	parts = append(parts, value)
	e.dns.AddRR(&dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: parts})
}

var dkimKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func dkimPrivate(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := dkimKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// dkimPublic is the p= value of the test key.
func dkimPublic(t *testing.T) string {
	der, err := x509.MarshalPKIXPublicKey(&dkimPrivate(t).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// dkimSign signs msg as selector "sel" of domain with python3-dkim's
// dkimsign (relaxed/relaxed).
func dkimSign(t *testing.T, msg, domain string) string {
	t.Helper()
	bin, err := exec.LookPath("dkimsign")
	if err != nil {
		t.Skip("dkimsign not installed (Debian package python3-dkim)")
	}
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(dkimPrivate(t))})
	if err := os.WriteFile(keyFile, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--bcanon", "relaxed", "sel", domain, keyFile)
	cmd.Stdin = strings.NewReader(msg)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dkimsign: %v", err)
	}
	if !strings.HasPrefix(string(out), "DKIM-Signature:") {
		t.Fatalf("dkimsign wrote %q", out)
	}
	return string(out)
}

// sendMX sends one message to alice on the MX port and returns the reply
// to its data.
func sendMX(t *testing.T, e *testEnv, helo, from, msg string) (int, string) {
	t.Helper()
	c := dial(t, e.mx, "127.0.0.1", false)
	c.must(250, "EHLO %s", helo)
	c.must(250, "MAIL FROM:<%s>", from)
	c.must(250, "RCPT TO:<%s>", alice)
	code, text := c.data(strings.ReplaceAll(msg, "\r\n.", "\r\n.."))
	c.must(221, "QUIT")
	return code, text
}

// deliver sends a message that must be accepted and returns it as stored
// in the mailbox it reached (INBOX or Junk).
func deliver(t *testing.T, e *testEnv, helo, from, msg, mailbox string) string {
	t.Helper()
	before := len(testutil.Mailbox(t, e.st, e.users[alice], mailbox))
	if code, text := sendMX(t, e, helo, from, msg); code != 250 {
		t.Fatalf("data: %d %s, want 250", code, text)
	}
	got := testutil.Mailbox(t, e.st, e.users[alice], mailbox)
	if len(got) != before+1 {
		t.Fatalf("%s has %d messages, want %d", mailbox, len(got), before+1)
	}
	return got[len(got)-1]
}

// authResults parses the Authentication-Results fields of a stored
// message with go-msgauth's parser: the authserv-id of each, and all
// their results.
func authResults(t *testing.T, msg string) (ids []string, results []authres.Result) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range m.Header["Authentication-Results"] {
		id, rs, err := authres.Parse(v)
		if err != nil {
			t.Fatalf("Authentication-Results %q: %v", v, err)
		}
		ids = append(ids, id)
		results = append(results, rs...)
	}
	return ids, results
}

// result returns the value and reason of the first result of method
// (e.g. "spf") whose identity (smtp.mailfrom, smtp.helo, header.d or
// header.from) is identity.
func result(results []authres.Result, method, identity string) (authres.ResultValue, string) {
	for _, r := range results {
		switch r := r.(type) {
		case *authres.SPFResult:
			if method == "spf" && (r.From == identity || r.Helo == identity) {
				return r.Value, r.Reason
			}
		case *authres.DKIMResult:
			if method == "dkim" && r.Domain == identity {
				return r.Value, r.Reason
			}
		case *authres.DMARCResult:
			if method == "dmarc" && r.From == identity {
				return r.Value, r.Reason
			}
		}
	}
	return "", ""
}

// ourResults checks the message carries exactly one Authentication-Results
// field, ours, and returns its results.
func ourResults(t *testing.T, msg string) []authres.Result {
	t.Helper()
	ids, results := authResults(t, msg)
	if len(ids) != 1 || ids[0] != "mx.example.com" {
		t.Fatalf("Authentication-Results by %q, want exactly one by mx.example.com:\n%s", ids, msg)
	}
	return results
}

func wantResult(t *testing.T, results []authres.Result, method, identity string, want authres.ResultValue) {
	t.Helper()
	if got, reason := result(results, method, identity); got != want {
		t.Errorf("%s for %s = %q (%s), want %q", method, identity, got, reason, want)
	}
}

func message(from, subject string) string {
	return "From: <" + from + ">\r\nTo: <" + alice + ">\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + subject + "@test>\r\n\r\nHello,\r\nthis is " + subject + ".\r\n"
}

// TestInboundDKIM: a message signed by dkimsign passes DKIM and, aligned
// with From, DMARC even when SPF fails; the same message altered after
// signing fails both, and under enforce the domain's p=reject refuses it.
func TestInboundDKIM(t *testing.T) {
	e := inboundEnv(t, config.DMARCEnforce)
	signed := dkimSign(t, message("news@sender.test", "signed"), "sender.test")

	got := deliver(t, e, "client.test", "bounce@fail.test", signed, "INBOX")
	rs := ourResults(t, got)
	wantResult(t, rs, "dkim", "sender.test", authres.ResultPass)
	wantResult(t, rs, "spf", "bounce@fail.test", authres.ResultFail)
	wantResult(t, rs, "dmarc", "sender.test", authres.ResultPass)
	if !strings.HasSuffix(got, signed) {
		t.Error("the signed message was not stored as sent")
	}

	altered := strings.Replace(signed, "this is signed", "this is changed", 1)
	code, text := sendMX(t, e, "client.test", "bounce@fail.test", altered)
	if code != 550 || !strings.HasPrefix(text, "5.7.1 ") || !strings.Contains(text, "sender.test") {
		t.Fatalf("altered message: %d %s, want 550 5.7.1 naming sender.test", code, text)
	}
	if n := len(e.inbox(alice)); n != 1 {
		t.Fatalf("INBOX has %d messages after the refusal, want 1", n)
	}
	if !e.log.contains("dkim=fail") {
		t.Errorf("the refusal's log line does not give the results:\n%s", e.log.String())
	}

	// A signed header changed fails as well, and header mode only records.
	e2 := inboundEnv(t, config.DMARCHeader)
	forged := strings.Replace(signed, "Subject: signed", "Subject: urgent", 1)
	rs = ourResults(t, deliver(t, e2, "client.test", "bounce@fail.test", forged, "INBOX"))
	wantResult(t, rs, "dkim", "sender.test", authres.ResultFail)
	wantResult(t, rs, "dmarc", "sender.test", authres.ResultFail)
}

// TestInboundSPF: the MAIL FROM and HELO identities get their SPF result,
// a DNS failure or timeout included, and every message is delivered.
func TestInboundSPF(t *testing.T) {
	e := inboundEnv(t, config.DMARCEnforce)
	for _, r := range []string{
		`servfail.test. 60 IN TXT "v=spf1 -all"`,
		`slow.test. 60 IN TXT "v=spf1 -all"`,
		`_dmarc.servfail.test. 60 IN TXT "v=DMARC1; p=reject"`,
		`helo.sender.test. 60 IN TXT "v=spf1 ip4:127.0.0.1 -all"`,
	} {
		e.dns.Add(t, r)
	}
	e.dns.Fail("servfail.test", dns.RcodeServerFailure)
	e.dns.Delay("slow.test", 2*testLookupTimeout)

	tests := []struct {
		from string
		want authres.ResultValue
	}{
		{"a@sender.test", authres.ResultPass},
		{"a@fail.test", authres.ResultFail},
		{"a@soft.test", authres.ResultSoftFail},
		{"a@servfail.test", authres.ResultTempError},
		{"a@slow.test", authres.ResultTempError},
		{"a@nowhere.test", authres.ResultNone},
	}
	for _, tt := range tests {
		t.Run(tt.from, func(t *testing.T) {
			// From matches MAIL FROM; only servfail.test has p=reject among
			// the failing ones, and its temperror must not refuse.
			rs := ourResults(t, deliver(t, e, "helo.sender.test", tt.from, message(tt.from, "spf"), "INBOX"))
			wantResult(t, rs, "spf", tt.from, tt.want)
			wantResult(t, rs, "spf", "helo.sender.test", authres.ResultPass)
		})
	}
	rs := ourResults(t, deliver(t, e, "helo.sender.test", "a@servfail.test", message("a@servfail.test", "t"), "INBOX"))
	wantResult(t, rs, "dmarc", "servfail.test", authres.ResultTempError)

	// The null sender is checked as postmaster@ the HELO name.
	rs = ourResults(t, deliver(t, e, "helo.sender.test", "", message("mailer@sender.test", "bounce"), "INBOX"))
	wantResult(t, rs, "spf", "postmaster@helo.sender.test", authres.ResultPass)
	wantResult(t, rs, "dmarc", "sender.test", authres.ResultPass) // relaxed alignment
}

// TestInboundDMARCPolicies: under enforce p=quarantine goes to Junk and
// p=none to the INBOX; in header mode even p=reject is only recorded.
func TestInboundDMARCPolicies(t *testing.T) {
	e := inboundEnv(t, config.DMARCEnforce)
	junk := deliver(t, e, "client.test", "a@quar.test", message("a@quar.test", "quarantined"), "Junk")
	wantResult(t, ourResults(t, junk), "dmarc", "quar.test", authres.ResultFail)
	if n := len(e.inbox(alice)); n != 0 {
		t.Fatalf("INBOX has %d messages, want the quarantined one in Junk only", n)
	}
	none := deliver(t, e, "client.test", "a@none.test", message("a@none.test", "p-none"), "INBOX")
	wantResult(t, ourResults(t, none), "dmarc", "none.test", authres.ResultFail)

	// A Junk mailbox the user deleted is created again.
	ctx := context.Background()
	mb, err := e.st.MailboxByName(ctx, e.users[alice], "Junk")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.DeleteMailbox(ctx, mb.ID); err != nil {
		t.Fatal(err)
	}
	if code, text := sendMX(t, e, "client.test", "a@quar.test", message("a@quar.test", "again")); code != 250 {
		t.Fatalf("after deleting Junk: %d %s", code, text)
	}
	if n := len(testutil.Mailbox(t, e.st, e.users[alice], "Junk")); n != 1 {
		t.Fatalf("the new Junk holds %d messages, want 1", n)
	}

	h := inboundEnv(t, config.DMARCHeader)
	for _, from := range []string{"a@fail.test", "x@sender.test"} {
		got := deliver(t, h, "client.test", "a@fail.test", message(from, "header-mode"), "INBOX")
		if v, _ := result(ourResults(t, got), "dmarc", domainOf(from)); from == "x@sender.test" && v != authres.ResultFail {
			t.Errorf("dmarc for a forged sender.test From = %q, want fail (recorded, not enforced)", v)
		}
	}
}

// TestInboundForgedAuthResults: an Authentication-Results field naming
// this host, however written, is removed; another host's stays; ours is
// added once. A user's submission loses the forged one too.
func TestInboundForgedAuthResults(t *testing.T) {
	e := inboundEnv(t, config.DMARCHeader)
	forged := "Authentication-Results: mx.example.com; dmarc=pass header.from=bank.test\r\n" +
		"Authentication-Results: (trust me)\r\n \"MX.Example.COM.\" 1; dkim=pass\r\n header.d=bank.test\r\n" +
		"authentication-results : mx.example.com;spf=pass\r\n" +
		"Authentication-Results: relay.other.test; spf=pass smtp.mailfrom=x@bank.test\r\n"
	msg := forged + message("ceo@bank.test", "forged")
	got := deliver(t, e, "client.test", "ceo@bank.test", msg, "INBOX")
	ids, _ := authResults(t, got)
	if len(ids) != 2 || ids[0] != "mx.example.com" || ids[1] != "relay.other.test" {
		t.Fatalf("Authentication-Results by %q, want ours then relay.other.test:\n%s", ids, got)
	}
	for _, forgedText := range []string{"dmarc=pass", "header.d=bank.test", "trust me", "spf=pass\r\n"} {
		if strings.Contains(got, forgedText) {
			t.Errorf("%q of a forged field left behind:\n%s", forgedText, got)
		}
	}
	if !strings.HasSuffix(got, "Authentication-Results: relay.other.test; spf=pass smtp.mailfrom=x@bank.test\r\n"+message("ceo@bank.test", "forged")) {
		t.Errorf("the rest of the message changed:\n%s", got)
	}
	if !e.log.contains("removed Authentication-Results") {
		t.Error("the removal was not logged")
	}

	c := dial(t, e.sub, "", false)
	c.starttls()
	c.must(235, "AUTH PLAIN %s", encodeB64("\x00"+alice+"\x00"+userPass))
	c.must(250, "MAIL FROM:<%s>", alice)
	c.must(250, "RCPT TO:<%s>", alice)
	if code, text := c.data(forged + message(alice, "submitted")); code != 250 {
		t.Fatalf("submission: %d %s", code, text)
	}
	inbox := e.inbox(alice)
	if ids, _ := authResults(t, inbox[len(inbox)-1]); len(ids) != 1 || ids[0] != "relay.other.test" {
		t.Fatalf("submitted message: Authentication-Results by %q, want relay.other.test's only", ids)
	}
}

// TestInboundUsersNotChecked: mail a user sends (AUTH on either port, a
// POP/IMAP-before-SMTP grant relaying on the MX port) gets no checks and
// no DNS lookup, even from a domain whose DMARC policy it would fail. A
// granted client's mail to local users only is checked (the grants are
// not read for plain inbound mail) but never refused for a grant holder.
func TestInboundUsersNotChecked(t *testing.T) {
	e := inboundEnv(t, config.DMARCEnforce)
	msg := message(alice, "from-a-user")
	check := func(how string) {
		t.Helper()
		inbox := e.inbox(alice)
		if ids, _ := authResults(t, inbox[len(inbox)-1]); len(ids) != 0 {
			t.Errorf("%s: Authentication-Results %q added", how, ids)
		}
		if n := e.dns.Queries("example.com", "TXT") + e.dns.Queries("_dmarc.example.com", "TXT"); n != 0 {
			t.Errorf("%s: %d DNS queries for example.com", how, n)
		}
	}
	send := func(c *client, from string, rcpts ...string) (int, string) {
		t.Helper()
		c.must(250, "MAIL FROM:<%s>", from)
		for _, r := range rcpts {
			c.must(250, "RCPT TO:<%s>", r)
		}
		return c.data(msg)
	}

	for _, addr := range []string{e.mx, e.sub} {
		c := dial(t, addr, "", false)
		c.starttls()
		c.must(235, "AUTH PLAIN %s", encodeB64("\x00"+alice+"\x00"+userPass))
		if code, text := send(c, alice, alice); code != 250 {
			t.Fatalf("AUTH: %d %s", code, text)
		}
		check("AUTH")
	}

	e.grant("127.0.0.1", alice, time.Hour)
	c := dial(t, e.mx, "127.0.0.1", false)
	c.ehlo()
	if code, text := send(c, alice, alice, "friend@far.test"); code != 250 {
		t.Fatalf("grant, relaying: %d %s", code, text)
	}
	check("grant")
	if q := e.queued("friend@far.test"); len(q) != 1 || strings.Contains(q[0], "Authentication-Results") {
		t.Fatalf("queued copy: %d, with Authentication-Results: %v", len(q), len(q) == 1)
	}

	if code, text := send(c, alice, alice); code != 250 {
		t.Fatalf("grant, local only: %d %s, want 250 despite p=reject", code, text)
	}
	inbox := e.inbox(alice)
	wantResult(t, ourResults(t, inbox[len(inbox)-1]), "dmarc", "example.com", authres.ResultFail)

	// A sender that is none of the granted users' is inbound mail: checked,
	// and refused by example.com's p=reject.
	if code, text := send(c, "other@fail.test", alice); code != 550 || !strings.HasPrefix(text, "5.7.1 ") {
		t.Fatalf("From example.com from a granted IP, other sender: %d %s, want 550 5.7.1", code, text)
	}
}
