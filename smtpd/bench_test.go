package main

import (
	"bytes"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	tp := textproto.NewConn(conn)
	steps := []struct {
		cmd  string
		want int
	}{
		{"", 220},
		{"EHLO bench.test", 250},
		{"MAIL FROM:<bench@example.org>", 250},
		{"RCPT TO:<" + alice + ">", 250},
		{"DATA", 354},
		{body + ".", 250},
		{"QUIT", 221},
	}
	for _, s := range steps {
		if s.cmd != "" {
			if err := tp.PrintfLine("%s", s.cmd); err != nil {
				return err
			}
		}
		if _, _, err := tp.ReadResponse(s.want); err != nil {
			return fmt.Errorf("after %.20q: %w", s.cmd, err)
		}
	}
	return nil
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
