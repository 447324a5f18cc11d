package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"mailsuite/internal/testutil"
	"mailsuite/shared/config"
)

// BenchmarkAcceptNewConn measures durable acceptance the way the bench's
// smtp_accept.sh does: 8 concurrent clients, a new connection per
// message, a 4 KB body for a local user on the MX port. Every message
// gets its 250 only after the store's commit, so ns/op is the cost of one
// accepted message (client, server and SQLite on the same cores).
//
//	go test -run '^$' -bench AcceptNewConn -benchtime 4000x ./smtpd/
func BenchmarkAcceptNewConn(b *testing.B) {
	e := newEnv(b, func(c *config.Config) { c.SMTPD.MaxMessageBytes = 1 << 20 })
	body := benchBody(4096)
	const sessions = 8
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := benchSend(e.mx, body); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// benchBody is a message of about size bytes with 78-character lines.
func benchBody(size int) string {
	var sb strings.Builder
	sb.WriteString("From: bench@example.org\r\nTo: alice@example.com\r\nSubject: bench\r\n\r\n")
	line := strings.Repeat("x", 76) + "\r\n"
	for sb.Len() < size {
		sb.WriteString(line)
	}
	return sb.String()
}

// benchSend delivers body to alice over a new connection, as smtp-source
// does: EHLO, MAIL, RCPT, DATA, QUIT, each waiting for its reply.
func benchSend(addr, body string) error {
	return benchSendTo(addr, alice, body)
}

// benchSendTo is benchSend to rcpt.
func benchSendTo(addr, rcpt, body string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	tp := textproto.NewConn(conn)
	return benchSteps(tp, []benchStep{
		{"", 220},
		{"EHLO bench.test", 250},
		{"MAIL FROM:<bench@example.org>", 250},
		{"RCPT TO:<" + rcpt + ">", 250},
		{"DATA", 354},
		{body + ".", 250},
		{"QUIT", 221},
	})
}

// BenchmarkReadData4K is the data phase's own cost for a 4 KB message
// (the accept benchmark's size), next to what it replaced: the whole
// message read into a bytes.Buffer, then checked.
//
//	go test -run '^$' -bench ReadData4K -count 5 ./smtpd/
func BenchmarkReadData4K(b *testing.B) {
	body := []byte(benchBody(4096))
	dir := b.TempDir()
	b.Run("spool", func(b *testing.B) {
		for b.Loop() {
			sp, err := readSpool(bytes.NewReader(body), dir)
			if err != nil {
				b.Fatal(err)
			}
			sp.Close()
		}
	})
	b.Run("buffer-then-check", func(b *testing.B) {
		for b.Loop() {
			var buf bytes.Buffer
			buf.Grow(bodyBufSize)
			buf.ReadFrom(bytes.NewReader(body))
			if err := checkData(buf.Bytes()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchSignedEnv is the accept benchmark's server with the inbound checks'
// DNS on loopback: example.org, the sender, publishes SPF for 127.0.0.1,
// a DKIM key and DMARC p=reject; the body is signed with that key.
func benchSignedEnv(b *testing.B) (*testEnv, string) {
	e := newEnv(b, func(c *config.Config) {
		c.SMTPD.MaxMessageBytes = 1 << 20
		c.SMTPD.DMARC = config.DMARCEnforce
	})
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	e.dns.Add(b, `example.org. 60 IN TXT "v=spf1 ip4:127.0.0.1 -all"`)
	e.dns.Add(b, `_dmarc.example.org. 60 IN TXT "v=DMARC1; p=reject"`)
	addTXT(e, "sel._domainkey.example.org", "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(der))
	var signed bytes.Buffer
	opts := &dkim.SignOptions{Domain: "example.org", Selector: "sel", Signer: key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed}
	if err := dkim.Sign(&signed, strings.NewReader(benchBody(4096)), opts); err != nil {
		b.Fatal(err)
	}
	return e, signed.String()
}

// BenchmarkInboundChecks is BenchmarkAcceptNewConn twice in one run, with
// the same DKIM-signed 4 KB message from example.org: b.N messages with
// the inbound checks off and b.N with them on (SPF of HELO and MAIL FROM,
// DKIM, DMARC: four TXT lookups, and an RSA-2048 verification per
// message), in alternating rounds so a change of the machine's load falls
// on both. It reports both rates and their ratio (goal: at least 0.5),
// with the TXT answers cached as in production ("cached") and with every
// lookup sent to the DNS server on loopback ("uncached").
//
//	go test -run '^$' -bench InboundChecks -benchtime 4000x ./smtpd/
func BenchmarkInboundChecks(b *testing.B) {
	for _, keep := range []time.Duration{txtCacheFor, 0} {
		name := "cached"
		if keep == 0 {
			name = "uncached"
		}
		b.Run(name, func(b *testing.B) {
			e, body := benchSignedEnv(b)
			checker := e.srv.checker
			checker.res.keep = keep
			const round = 200
			var took [2]time.Duration // off, on
			b.ResetTimer()
			for done := 0; done < b.N; done += round {
				n := min(round, b.N-done)
				for i, c := range []*authChecker{nil, checker} {
					e.srv.checker = c
					start := time.Now()
					benchSessions(b, e.mx, body, n)
					took[i] += time.Since(start)
				}
			}
			b.StopTimer()
			got := testutil.Inbox(b, e.st, e.users[alice])
			if !strings.Contains(got[len(got)-1], "dmarc=pass") {
				b.Fatalf("the checked message did not pass:\n%.600s", got[len(got)-1])
			}
			off, on := float64(b.N)/took[0].Seconds(), float64(b.N)/took[1].Seconds()
			b.ReportMetric(off, "off-msgs/s")
			b.ReportMetric(on, "on-msgs/s")
			b.ReportMetric(on/off, "on/off")
		})
	}
}

// benchSessions sends n messages over 8 concurrent clients, a new
// connection each.
func benchSessions(b *testing.B, addr, body string, n int) {
	const sessions = 8
	var next atomic.Int64
	var wg sync.WaitGroup
	for range sessions {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := benchSend(addr, body); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkVerify is the cost of the inbound checks of one message
// without SMTP: all of them with the TXT answers cached ("cached") and
// with every lookup sent to the DNS server on loopback ("uncached"), and
// DKIM alone with the key from memory ("dkim": the body hash and the
// RSA-2048 verification).
//
//	go test -run '^$' -bench Verify -benchtime 2000x ./smtpd/
func BenchmarkVerify(b *testing.B) {
	e, body := benchSignedEnv(b)
	in := authInput{ip: net.ParseIP("127.0.0.1"), helo: "bench.test", from: "bench@example.org"}
	in.header = []byte(body[:headerEnd([]byte(body))])
	for _, keep := range []time.Duration{txtCacheFor, 0} {
		name := "cached"
		if keep == 0 {
			name = "uncached"
		}
		b.Run(name, func(b *testing.B) {
			e.srv.checker.res.keep = keep
			for b.Loop() {
				in.msg = strings.NewReader(body)
				v := e.srv.checker.check(in)
				formatAuthResults("mx.example.com", v.results)
				if v.policy != "" || !strings.Contains(v.summary(), "dmarc=pass") {
					b.Fatalf("verdict %s", v.summary())
				}
			}
		})
	}
	key, err := e.srv.checker.res.LookupTXT(context.Background(), "sel._domainkey.example.org")
	if err != nil {
		b.Fatal(err)
	}
	opts := &dkim.VerifyOptions{LookupTXT: func(string) ([]string, error) { return key, nil }}
	b.Run("dkim", func(b *testing.B) {
		for b.Loop() {
			v, err := dkim.VerifyWithOptions(strings.NewReader(body), opts)
			if err != nil || len(v) != 1 || v[0].Err != nil {
				b.Fatalf("verify: %v %v", v, err)
			}
		}
	})
}
