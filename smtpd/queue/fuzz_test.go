package queue

import (
	"net"
	"strings"
	"testing"

	"mailsuite/shared/config"
)

// FuzzParseReply: any reply text parses without panicking, and the
// one-line rendering never carries a line break (it goes into the store,
// the log and the DSN).
func FuzzParseReply(f *testing.F) {
	f.Add(550, "5.1.1 no such user")
	f.Add(451, "4.3.0 first\n4.3.0 second")
	f.Add(250, "ok")
	f.Add(554, "5.7.1")
	f.Add(421, "9999.1.1 huge")
	f.Add(500, "-1.-1.-1 neg")
	f.Fuzz(func(t *testing.T, code int, msg string) {
		se := parseReply(code, msg)
		text := replyText(se)
		if strings.ContainsAny(text, "\r\n") {
			t.Fatalf("reply text %q has a line break", text)
		}
		st := enhanced(se)
		if len(strings.Split(st, ".")) != 3 {
			t.Fatalf("enhanced status %q", st)
		}
	})
}

// FuzzHopFor: any recipient address yields a hop without panicking; an
// address literal becomes a parseable IP.
func FuzzHopFor(f *testing.F) {
	for _, s := range []string{"a@b.test", "a@[127.0.0.1]", "a@[IPv6:::1]", "a@[::1]", "a@", "@", "a@[1.2.3.4", "x@ROUTED.test.", "a@b@c"} {
		f.Add(s)
	}
	cfg := config.Default()
	cfg.SMTPD.Queue.Routes = map[string]string{"routed.test": "127.0.0.1"}
	r := &Runner{cfg: cfg}
	f.Fuzz(func(t *testing.T, rcpt string) {
		h := r.hopFor(rcpt)
		switch h.kind {
		case hopLiteral:
			if net.ParseIP(h.addr) == nil {
				t.Fatalf("%q: literal hop %q is not an IP", rcpt, h.addr)
			}
		case hopRoute:
			if _, _, err := net.SplitHostPort(h.addr); err != nil {
				t.Fatalf("%q: route %q has no port: %v", rcpt, h.addr, err)
			}
		}
	})
}

// FuzzOffers: EHLO replies of any shape are scanned without panicking.
func FuzzOffers(f *testing.F) {
	f.Add("mx.test\nSTARTTLS\nSIZE 100")
	f.Add("")
	f.Add("\n\n")
	f.Fuzz(func(t *testing.T, ehlo string) {
		offers(ehlo, "STARTTLS")
	})
}
