package main

import (
	"strings"
	"testing"
	"time"
)

// loginRetry logs in, retrying while the maildrop is still locked by a
// session the server has not yet noticed is gone.
func (e *testEnv) loginRetry() *testconn {
	e.t.Helper()
	for i := 0; ; i++ {
		c := e.dial()
		c.cmd("USER "+testUser, "+OK")
		c.send("PASS " + testPass)
		l := c.readLine()
		if strings.HasPrefix(l, "+OK") {
			return c
		}
		if !strings.HasPrefix(l, "-ERR [IN-USE]") || i == 100 {
			e.t.Fatalf("login: %q", l)
		}
		c.conn.Close()
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTwoSessionsOneMaildrop(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver(msg("a", "x\r\n"))
	c1 := e.login()
	c2 := e.dial()
	c2.cmd("USER "+testUser, "+OK")
	c2.cmd("PASS "+testPass, "-ERR [IN-USE]")
	// The refused session is still usable once the first one quits.
	c1.cmd("DELE 1", "+OK")
	c1.cmd("QUIT", "+OK")
	c1.closed()
	c2.cmd("USER "+testUser, "+OK")
	c2.cmd("PASS "+testPass, "+OK maildrop has 0 messages")
}

func TestLoginWaitsForEndingSession(t *testing.T) {
	e := newEnv(t, withPlaintext, func(s *server) { s.lockWait = 10 * time.Second })
	e.deliver(msg("a", "x\r\n"))
	c1 := e.login()
	c1.cmd("DELE 1", "+OK")
	c2 := e.dial()
	c2.cmd("USER "+testUser, "+OK")
	c2.send("PASS " + testPass) // waits for c1's lock
	c1.cmd("QUIT", "+OK")
	c2.expect("+OK maildrop has 0 messages")
}
