package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestGreeting(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.cmd("NOOP", "-ERR NOOP is not valid before login")
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	c.cmd("FOO", "-ERR unknown command")
	c.cmd("APOP x y", "-ERR unknown command")
	c.cmd("", "-ERR")
	c.cmd("STAT", "-ERR STAT is not valid before login")
	c.cmd("RETR 1", "-ERR")
	c.cmd("USER a\x00b", "-ERR")
	c.cmd("USER  x", "-ERR")
	c.cmd("LIST 1 2 3", "-ERR")
	c.cmd("NOOP", "-ERR") // still not logged in
	c.cmd("CAPA", "+OK")  // resets the error count
	c.multi()
	c.cmd(strings.Repeat("A", 10000), "-ERR line too long")
	c.cmd("user "+testUser, "+OK") // keywords are case-insensitive
	c.cmd("pass "+testPass, "+OK")
	c.cmd("USER x", "-ERR USER is not valid after login")
	c.cmd("STLS", "-ERR")
	c.cmd("NOOP", "+OK")
}

func TestBareLFLines(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	c.conn.Write([]byte("USER " + testUser + "\nPASS " + testPass + "\nSTAT\n"))
	c.expect("+OK")
	c.expect("+OK")
	c.expect("+OK 0 0")
}

func TestPipelining(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver(msg("a", "x\r\n"))
	e.deliver(msg("b", "y\r\n"))
	c := e.dial()
	c.conn.Write([]byte("USER " + testUser + "\r\nPASS " + testPass + "\r\nSTAT\r\nRETR 1\r\nRETR 2\r\nDELE 1\r\nQUIT\r\n"))
	c.expect("+OK")
	c.expect("+OK")
	c.expect("+OK 2 ")
	c.expect("+OK")
	if got := c.multi(); got[2] != "Subject: a" {
		t.Fatalf("RETR 1 = %q", got)
	}
	c.expect("+OK")
	if got := c.multi(); got[2] != "Subject: b" {
		t.Fatalf("RETR 2 = %q", got)
	}
	c.expect("+OK")
	c.expect("+OK")
	c.closed()
	if e.count() != 1 {
		t.Fatalf("%d messages, want 1", e.count())
	}
}

func TestHTTPVerbCloses(t *testing.T) {
	e := newEnv(t)
	for _, line := range []string{"GET / HTTP/1.1", "POST /x HTTP/1.0", "CONNECT a:1 HTTP/1.1"} {
		c := e.dial()
		c.cmd(line, "-ERR")
		c.closed()
	}
}

func TestTooManyErrorsCloses(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	for i := 0; i < maxErrors; i++ {
		c.cmd("BAD", "-ERR")
	}
	c.expect("-ERR too many errors")
	c.closed()
}

func TestShutdownClosesIdleSessions(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver(msg("a", "x\r\n"))
	c := e.login()
	c.cmd("DELE 1", "+OK")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	c.expect("-ERR [SYS/TEMP] server shutting down")
	c.closed()
	if e.count() != 1 {
		t.Fatal("shutdown deleted a message")
	}
}
