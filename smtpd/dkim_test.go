package main

import (
	"bytes"
	"context"
	"crypto"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"mailsuite/internal/dnstest"
	"mailsuite/internal/testutil"
	"mailsuite/shared/config"
	"mailsuite/shared/dkimkey"
	"mailsuite/store"
)

// addDKIMKey stores a new key for domain and publishes it in zone.
func (e *testEnv) addDKIMKey(zone *dnstest.Server, domain, selector, alg string) {
	e.t.Helper()
	der, err := dkimkey.Generate(alg)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.AddDKIMKey(context.Background(), store.DKIMKey{Domain: domain, Selector: selector, Algorithm: alg, Private: der}); err != nil {
		e.t.Fatal(err)
	}
	txt, err := dkimkey.Record(alg, der)
	if err != nil {
		e.t.Fatal(err)
	}
	zone.Add(e.t, dkimkey.Name(selector, domain)+" 300 IN TXT "+dkimkey.Quoted(txt))
}

// sendAs sends body from the envelope sender from, authenticated as
// alice on submission, to rcpt.
func (e *testEnv) sendAs(from, rcpt, body string) {
	e.t.Helper()
	c := dial(e.t, e.sub, "", false)
	c.ehlo()
	c.starttls()
	if code, msg := c.authPlain("", alice, userPass); code != 235 {
		e.t.Fatalf("AUTH: %d %s", code, msg)
	}
	c.must(250, "MAIL FROM:<%s>", from)
	c.must(250, "RCPT TO:<%s>", rcpt)
	if code, msg := c.data(body); code != 250 {
		e.t.Fatalf("DATA: %d %s", code, msg)
	}
}

// relayAsAlice sends body from alice to a remote recipient and returns
// the queued copy.
func (e *testEnv) relayAsAlice(rcpt, body string) string {
	e.t.Helper()
	e.sendAs(alice, rcpt, body)
	q := e.queued(rcpt)
	if len(q) != 1 {
		e.t.Fatalf("queued for %s: %d messages, want 1", rcpt, len(q))
	}
	return q[0]
}

const signedBody = "From: Alice <alice@example.com>\r\nTo: <bob@far.test>\r\nSubject: signed\r\n" +
	"Date: Mon, 30 Nov 2026 02:00:00 +0000\r\nMessage-ID: <1@example.com>\r\nX-Extra: not signed\r\n\r\n" +
	"Hello,   with  spaces\r\n\r\n\r\n"

var sigField = regexp.MustCompile(`(?m)^DKIM-Signature:.*(\r\n[ \t].*)*\r\n`)

func TestDKIMSignsRelayedMailRSAAndEd25519(t *testing.T) {
	e := newEnv(t)
	zone := dnstest.Start(t)
	e.addDKIMKey(zone, "example.com", "rsa1", dkimkey.RSA)
	e.addDKIMKey(zone, "example.com", "ed1", dkimkey.Ed25519)
	msg := e.relayAsAlice("bob@far.test", signedBody)

	sigs := sigField.FindAllString(msg, -1)
	if len(sigs) != 2 || !strings.HasPrefix(msg, sigs[0]) {
		t.Fatalf("want two DKIM-Signature fields on top, got %d:\n%s", len(sigs), msg)
	}
	unfold := func(s string) string { return strings.NewReplacer("\r\n", "", "\t", "", " ", "").Replace(s) }
	for i, want := range []string{"a=rsa-sha256", "a=ed25519-sha256"} {
		f := unfold(sigs[i])
		for _, tag := range []string{want, "c=relaxed/relaxed", "d=example.com", "h=from:to:subject:date:message-id:from;"} {
			if !strings.Contains(f, tag) {
				t.Errorf("signature %d lacks %s: %s", i, tag, f)
			}
		}
	}
	for i := range 2 {
		if ok, out := testutil.DKIMVerify(t, zone.Addr, []byte(msg), i); !ok {
			t.Errorf("dkimverify --index %d: %s\n%s", i, out, msg)
		}
	}
	for _, tc := range []struct {
		name    string
		altered string
		index   int
	}{
		{"subject", strings.Replace(msg, "Subject: signed", "Subject: changed", 1), 0},
		{"body", strings.Replace(msg, "Hello,", "Hullo,", 1), 1},
		{"extra From", strings.Replace(msg, "To: <bob", "From: mallory@evil.test\r\nTo: <bob", 1), 0},
	} {
		if ok, _ := testutil.DKIMVerify(t, zone.Addr, []byte(tc.altered), tc.index); ok {
			t.Errorf("%s altered: signature %d still verifies", tc.name, tc.index)
		}
	}
}

func TestDKIMSignsGrantedSpooledMessage(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.SMTPD.MaxMessageBytes = 4 << 20 })
	zone := dnstest.Start(t)
	e.addDKIMKey(zone, "example.com", "big", dkimkey.RSA)
	e.grant("127.0.0.1", alice, 30*time.Minute)
	// A forged Authentication-Results naming this host is removed
	// before signing: what is signed is what is stored.
	body := "Authentication-Results: mx.example.com; dkim=pass\r\nFrom: alice@example.com\r\nSubject: large\r\n\r\n" +
		strings.Repeat("a line of a large message\r\n", 80000)
	c := dial(t, e.sub, "", false)
	c.ehlo()
	c.must(250, "MAIL FROM:<%s>", alice)
	c.must(250, "RCPT TO:<bob@far.test>")
	if code, msg := c.data(body); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	q := e.queued("bob@far.test")
	if len(q) != 1 || len(q[0]) < 2<<20 || !strings.HasPrefix(q[0], "DKIM-Signature:") || strings.Contains(q[0], "dkim=pass") {
		t.Fatalf("queued: %d messages, want one signed of over 2 MiB without the forged header", len(q))
	}
	if ok, out := testutil.DKIMVerify(t, zone.Addr, []byte(q[0]), 0); !ok {
		t.Errorf("dkimverify: %s", out)
	}
}

func TestDKIMNeverSignsInboundMail(t *testing.T) {
	e := newEnv(t)
	zone := dnstest.Start(t)
	e.addDKIMKey(zone, "example.com", "rsa1", dkimkey.RSA)
	// A stranger claims alice's address on the MX port: delivered to the
	// local user as inbound mail, never signed with her domain's key.
	c := dial(t, e.mx, "", false)
	c.ehlo()
	c.must(250, "MAIL FROM:<%s>", alice)
	c.must(250, "RCPT TO:<%s>", carol)
	if code, msg := c.data(signedBody); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	in := e.inbox(carol)
	if len(in) != 1 || strings.Contains(in[0], "DKIM-Signature") {
		t.Fatalf("carol's INBOX: %q, want one unsigned message", in)
	}
}

func TestDKIMBrokenKeyNeverLosesMail(t *testing.T) {
	e := newEnv(t)
	zone := dnstest.Start(t)
	ctx := context.Background()
	if _, err := e.st.AddDKIMKey(ctx, store.DKIMKey{Domain: "example.com", Selector: "broken", Algorithm: dkimkey.RSA, Private: []byte("not a key")}); err != nil {
		t.Fatal(err)
	}
	msg := e.relayAsAlice("bob@far.test", signedBody)
	if strings.Contains(msg, "DKIM-Signature") || !strings.Contains(msg, "Subject: signed") {
		t.Fatalf("with only a broken key: want the message queued unsigned, got:\n%s", msg)
	}
	if !e.log.contains("level=ERROR msg=\"DKIM key unusable\"") || !e.log.contains("selector=broken") {
		t.Errorf("no ERROR naming the broken key in the log:\n%s", e.log.String())
	}
	// A good Ed25519 key still signs beside the broken RSA one.
	e.addDKIMKey(zone, "example.com", "ed1", dkimkey.Ed25519)
	msg = e.relayAsAlice("dave@far.test", signedBody)
	if n := len(sigField.FindAllString(msg, -1)); n != 1 {
		t.Fatalf("want one signature (Ed25519), got %d:\n%s", n, msg)
	}
	if ok, out := testutil.DKIMVerify(t, zone.Addr, []byte(msg), 0); !ok {
		t.Errorf("dkimverify: %s", out)
	}
}

// TestDKIMSenderCheckOffSignsOnlyOwnDomains: with sender_check off a
// user may send as anyone, but only mail from the user's own domain is
// signed: alice (example.com) sending as other.test goes unsigned.
func TestDKIMSenderCheckOffSignsOnlyOwnDomains(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Relay.SenderCheck = config.SenderCheckOff })
	zone := dnstest.Start(t)
	e.addDKIMKey(zone, "other.test", "o1", dkimkey.Ed25519)
	e.addDKIMKey(zone, "example.com", "e1", dkimkey.Ed25519)
	for _, from := range []string{"boss@other.test", "anyone@example.com"} {
		e.sendAs(from, "x@far.test", "From: <"+from+">\r\nSubject: s\r\n\r\nbody\r\n")
	}
	q := e.queued("x@far.test")
	if len(q) != 2 {
		t.Fatalf("queued %d messages, want 2", len(q))
	}
	for _, m := range q {
		other := strings.Contains(m, "From: <boss@other.test>")
		if got := strings.HasPrefix(m, "DKIM-Signature:"); got == other {
			t.Errorf("signed = %v for:\n%s", got, m)
		}
	}
}

func TestDKIMMessageWithoutFromGoesUnsigned(t *testing.T) {
	e := newEnv(t)
	zone := dnstest.Start(t)
	e.addDKIMKey(zone, "example.com", "rsa1", dkimkey.RSA)
	msg := e.relayAsAlice("bob@far.test", "Subject: no author\r\n\r\nbody\r\n")
	if strings.Contains(msg, "DKIM-Signature") {
		t.Fatalf("signed a message without From:\n%s", msg)
	}
	if !e.log.contains("no From header field") {
		t.Errorf("the log does not say why:\n%s", e.log.String())
	}
}

func TestHeaderFields(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want string
	}{
		{"From: a\r\nTo: b\r\nX-No: c\r\nCC: d\r\n\r\nbody\r\n", "from:to:cc:from"},
		{"Subject: s\r\n  folded: not a field\r\nFrom: a\r\n", "subject:from:from"},
		{"From: a\r\nSubject: " + strings.Repeat("x", 10000) + "\r\nTo: b\r\n\r\nTo: body\r\n", "from:subject:to:from"},
		{"from : a\r\nfrom: b\r\n\r\n", "from:from:from"},
	} {
		got, err := headerFields(strings.NewReader(tc.msg))
		if err != nil || strings.Join(got, ":") != tc.want {
			t.Errorf("headerFields(%.40q) = %v, %v; want %s", tc.msg, got, err, tc.want)
		}
	}
	if _, err := headerFields(strings.NewReader("Subject: x\r\n\r\nFrom: in the body\r\n")); err != errNoFrom {
		t.Errorf("no From: err = %v, want errNoFrom", err)
	}
}

// FuzzDKIMSign: any message, however malformed its header, is signed or
// refused with an error, never a panic or a hang.
func FuzzDKIMSign(f *testing.F) {
	der, err := dkimkey.Generate(dkimkey.Ed25519)
	if err != nil {
		f.Fatal(err)
	}
	key, err := dkimkey.Parse(dkimkey.Ed25519, der)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(signedBody))
	f.Add([]byte("From: a\r\n"))
	f.Add([]byte("From:\r\n \r\n\tx\r\nfrom: b\n\nbody"))
	f.Add([]byte(":\r\nFrom"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		sigs, err := sign(func() io.Reader { return bytes.NewReader(msg) }, []*dkim.SignOptions{signOptions("example.com", "s", key)})
		if err == nil && !bytes.HasPrefix(sigs, []byte("DKIM-Signature: ")) {
			t.Fatalf("signed without a DKIM-Signature field: %q", sigs)
		}
	})
}

// BenchmarkDKIMSign is the cost per message of signing a 4 KB message:
// the header scan, the body hash and the signatures (the key already
// parsed, as the cache keeps it).
func BenchmarkDKIMSign(b *testing.B) {
	msg := []byte(signedBody + strings.Repeat("A line of a typical message body, some seventy bytes long.\r\n", 64))
	keys := map[string]crypto.Signer{}
	for _, alg := range []string{dkimkey.RSA, dkimkey.Ed25519} {
		der, err := dkimkey.Generate(alg)
		if err != nil {
			b.Fatal(err)
		}
		if keys[alg], err = dkimkey.Parse(alg, der); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		algs []string
	}{
		{"rsa2048", []string{dkimkey.RSA}},
		{"ed25519", []string{dkimkey.Ed25519}},
		{"both", []string{dkimkey.RSA, dkimkey.Ed25519}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				var opts []*dkim.SignOptions
				for _, alg := range tc.algs {
					opts = append(opts, signOptions("example.com", alg, keys[alg]))
				}
				if _, err := sign(func() io.Reader { return bytes.NewReader(msg) }, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
