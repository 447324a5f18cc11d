package e2e

import (
	"strings"
	"testing"
	"time"

	"mailsuite/internal/dnstest"
	"mailsuite/internal/testutil"
)

// TestDKIMSignedMailVerifiesAtTheFarEnd: keys made by mailctl dkim
// keygen, published as it prints them on a real DNS server, sign a
// message the real smtpd relays for an authenticated user; what the
// remote MX receives verifies with python3-dkim (both signatures, RSA and
// Ed25519), and no longer does once altered. After a rotation (keygen,
// use) the next message carries the new selector.
func TestDKIMSignedMailVerifiesAtTheFarEnd(t *testing.T) {
	testutil.NeedClient(t, "dkimverify")
	mx := newFakeMX(t)
	zone := dnstest.Start(t)
	s := newSuite(t)
	s.route("remote.test", mx.addr())
	s.addUser("ann@example.test", "ann-secret")
	publish := func(args ...string) {
		out := s.mailctl("", append([]string{"dkim", "keygen", "example.test"}, args...)...)
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(l, ";") {
				zone.Add(t, l)
			}
		}
	}
	publish("--selector", "one")
	publish("--selector", "ed", "--algorithm", "ed25519")
	s.start("smtpd")

	send := func(subject string) string {
		out, code := python(t, "smtp_send.py", sendEnv(s.ports.Submission, "127.0.0.1",
			"ann@example.test", "rob@remote.test", subject,
			"AUTH_USER=ann@example.test", "AUTH_PASS=ann-secret")...)
		if code != 0 {
			t.Fatalf("relay through smtpd: exit %d: %s", code, out)
		}
		m, ok := mx.waitFor(30*time.Second, "Subject: "+subject)
		if !ok {
			t.Fatalf("nothing reached the remote MX; smtpd log:\n%s", s.logOf("smtpd"))
		}
		return m.Data
	}
	msg := send("signed twice")
	for i, sel := range []string{"s=one", "s=ed"} {
		if ok, out := testutil.DKIMVerify(t, zone.Addr, []byte(msg), i); !ok || !strings.Contains(sigAt(msg, i), sel) {
			t.Errorf("signature %d (%s): %s\n%s", i, sel, out, msg)
		}
	}
	altered := strings.Replace(msg, "Hello from", "Hello to", 1)
	if ok, _ := testutil.DKIMVerify(t, zone.Addr, []byte(altered), 0); ok {
		t.Errorf("an altered body still verifies")
	}

	publish("--selector", "two")
	s.mailctl("", "dkim", "use", "example.test", "two")
	msg = send("after rotation")
	if ok, out := testutil.DKIMVerify(t, zone.Addr, []byte(msg), 0); !ok || !strings.Contains(sigAt(msg, 0), "s=two") {
		t.Errorf("after rotation: %s\n%s", out, msg)
	}
}

// sigAt returns the i-th DKIM-Signature field of msg, unfolded.
func sigAt(msg string, i int) string {
	parts := strings.Split(msg, "DKIM-Signature:")
	if i+1 >= len(parts) {
		return ""
	}
	f, _, _ := strings.Cut(strings.NewReplacer("\r\n ", "", "\r\n\t", "").Replace(parts[i+1]), "\r\n")
	return strings.ReplaceAll(f, " ", "")
}
