package main

import (
	"strings"
	"testing"
	"time"
)

// startTx opens a connection to the MX port with one local recipient.
func startTx(t *testing.T, e *testEnv) *client {
	c := dial(t, e.mx, "", false)
	c.ehlo()
	c.must(250, "MAIL FROM:<sender@far.test>")
	c.must(250, "RCPT TO:<%s>", alice)
	return c
}

func TestDataRefused(t *testing.T) {
	e := newEnv(t)
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 998)+"\r\n", 70)
	tests := []struct {
		name, body string
		code       int
		enhanced   string
	}{
		{"bare LF", "Subject: a\r\n\r\nline\nmore\r\n", 550, "5.6.0"},
		{"bare CR", "Subject: a\r\n\r\nline\rmore\r\n", 550, "5.6.0"},
		{"smuggled end LF.LF", "Subject: a\r\n\r\nx\n.\nMAIL FROM:<a@far.test>\r\n", 550, "5.6.0"},
		{"smuggled end CRLF.LF", "Subject: a\r\n\r\nx\r\n.\nMAIL FROM:<a@far.test>\r\n", 550, "5.6.0"},
		{"CR before the end CRLF.CRLF", "Subject: a\r\n\r\nx\r\r\n", 550, "5.6.0"},
		{"CRLF.CR then data", "Subject: a\r\n\r\nx\r\n.\rQUIT\r\n", 550, "5.6.0"},
		{"NUL", "Subject: a\r\n\r\nnul\x00here\r\n", 550, "5.6.0"},
		{"too large", big, 552, "5.3.4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := startTx(t, e)
			code, msg := c.data(tc.body)
			if code != tc.code || !strings.HasPrefix(msg, tc.enhanced) {
				t.Fatalf("got %d %s, want %d %s", code, msg, tc.code, tc.enhanced)
			}
			// The connection is still in step: the smuggled MAIL was data.
			c.must(250, "NOOP")
			c.must(250, "MAIL FROM:<sender@far.test>")
		})
	}
	if n := len(e.inbox(alice)); n != 0 {
		t.Fatalf("%d refused messages stored", n)
	}
}

func TestDataTooLargeBySIZE(t *testing.T) {
	e := newEnv(t)
	c := dial(t, e.mx, "", false)
	c.ehlo()
	if code, msg := c.cmd("MAIL FROM:<a@far.test> SIZE=%d", e.cfg.SMTPD.MaxMessageBytes+1); code != 552 {
		t.Fatalf("SIZE over limit: %d %s", code, msg)
	}
}

// TestDisconnectMidData: a client that goes away during DATA leaves
// nothing behind.
func TestDisconnectMidData(t *testing.T) {
	e := newEnv(t)
	c := startTx(t, e)
	c.must(354, "DATA")
	c.conn.Write([]byte("Subject: cut\r\n\r\nhalf a messa"))
	c.conn.Close()
	// A second, complete message proves the server went on; then the
	// first must not be there.
	d := startTx(t, e)
	if code, msg := d.data(testBody("whole")); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	got := e.inbox(alice)
	if len(got) != 1 || !strings.Contains(got[0], "Subject: whole") {
		t.Fatalf("inbox: %q", got)
	}
}

// TestStoredForm: local copies get Return-Path and Received, queued
// copies only Received; dot-stuffing is undone; line ends stay CRLF.
func TestStoredForm(t *testing.T) {
	e := newEnv(t)
	c := dial(t, e.sub, "", false)
	c.ehlo()
	c.starttls()
	if code, msg := c.authPlain("", alice, userPass); code != 235 {
		t.Fatalf("AUTH: %d %s", code, msg)
	}
	c.must(250, "MAIL FROM:<Alice@Example.com>")
	c.must(250, "RCPT TO:<%s>", carol)
	c.must(250, "RCPT TO:<Friend@Far.Test>")
	body := "Subject: dots\r\n\r\n..leading dot\r\n8-bit h\xc3\xa9\r\n"
	if code, msg := c.data(body); code != 250 {
		t.Fatalf("DATA: %d %s", code, msg)
	}
	local := e.inbox(carol)
	if len(local) != 1 {
		t.Fatalf("carol has %d messages", len(local))
	}
	if !strings.HasPrefix(local[0], "Return-Path: <alice@example.com>\r\nReceived: from client.test ([127.0.0.1])\r\n") {
		t.Errorf("local copy starts:\n%s", local[0])
	}
	for _, want := range []string{"with ESMTPSA id ", "(TLS 1.3 ", "authenticated as alice@example.com)",
		"\r\n\r\n.leading dot\r\n8-bit h\xc3\xa9\r\n"} {
		if !strings.Contains(local[0], want) {
			t.Errorf("local copy lacks %q:\n%s", want, local[0])
		}
	}
	queued := e.queued("Friend@far.test")
	if len(queued) != 1 {
		t.Fatalf("queue for Friend@far.test: %d messages", len(queued))
	}
	if !strings.HasPrefix(queued[0], "Received: ") || strings.Contains(queued[0], "Return-Path") {
		t.Errorf("queued copy:\n%s", queued[0])
	}
	if !strings.HasSuffix(queued[0], "\r\n"+strings.Replace(body, "..", ".", 1)) {
		t.Errorf("queued copy body:\n%q", queued[0])
	}
	if !e.log.contains(`msg=accepted`) || !e.log.contains(`auth=alice@example.com`) {
		t.Errorf("no accepted log line:\n%s", e.log)
	}
}

// TestPipelinedAbuse: a client that sends everything without waiting,
// smuggled commands included, gets answers in order and no extra message.
func TestPipelinedAbuse(t *testing.T) {
	e := newEnv(t)
	c := dial(t, e.mx, "", false)
	c.ehlo()
	c.conn.Write([]byte("MAIL FROM:<a@far.test>\r\nRCPT TO:<" + alice + ">\r\nRCPT TO:<x@far.test>\r\nDATA\r\n" +
		"Subject: one\r\n\r\nbody\n.\nMAIL FROM:<b@far.test>\r\nRCPT TO:<" + alice + ">\r\n.\r\nNOOP\r\n"))
	for _, want := range []int{250, 250, 554, 354, 550, 250} {
		if code, msg := c.read(); code != want {
			t.Fatalf("got %d %s, want %d", code, msg, want)
		}
	}
	if n := len(e.inbox(alice)); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
}

// TestShutdownWaitsForData: a message in its data phase when shutdown
// starts still gets its answer and is stored.
func TestShutdownWaitsForData(t *testing.T) {
	e := newEnv(t)
	c := startTx(t, e)
	c.must(354, "DATA")
	c.conn.Write([]byte("Subject: during shutdown\r\n\r\n"))
	idle := dial(t, e.mx, "", false)
	for !e.srv.busy.inProgress() {
		time.Sleep(time.Millisecond) // until the session is in its data phase
	}
	done := make(chan error, 1)
	go func() { done <- e.srv.shutdown(t.Context()) }()
	for !e.srv.busy.draining() {
		time.Sleep(time.Millisecond)
	}
	c.conn.Write([]byte("the end\r\n.\r\n"))
	if code, msg := c.read(); code != 250 {
		t.Fatalf("DATA during shutdown: %d %s", code, msg)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := idle.tp.ReadLine(); err == nil {
		t.Errorf("idle connection still open after shutdown")
	}
	if n := len(e.inbox(alice)); n != 1 {
		t.Fatalf("%d messages stored", n)
	}
}
