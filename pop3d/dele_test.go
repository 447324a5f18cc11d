package main

import "testing"

func TestDeleQuitDeletes(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver(msg("a", "x\r\n"))
	e.deliver(msg("b", "y\r\n"))
	e.deliver(msg("c", "z\r\n"))
	c := e.login()
	c.cmd("DELE 1", "+OK message 1 deleted")
	c.cmd("DELE 1", "-ERR message 1 already deleted")
	c.cmd("DELE 3", "+OK")
	c.cmd("DELE 4", "-ERR")
	c.cmd("DELE", "-ERR")
	c.cmd("NOOP", "+OK")
	if e.count() != 3 {
		t.Fatal("DELE removed a message before QUIT")
	}
	c.cmd("QUIT", "+OK")
	c.closed()
	if n := e.count(); n != 1 {
		t.Fatalf("%d messages left, want 1", n)
	}
	c = e.login()
	c.cmd("RETR 1", "+OK")
	if got := c.multi(); got[2] != "Subject: b" {
		t.Fatalf("wrong message kept: %q", got)
	}
}

func TestRset(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver(msg("a", "x\r\n"))
	c := e.login()
	c.cmd("DELE 1", "+OK")
	c.cmd("STAT", "+OK 0 0")
	c.cmd("RSET", "+OK maildrop has 1 messages")
	c.cmd("RSET x", "-ERR")
	c.cmd("RETR 1", "+OK")
	c.multi()
	c.cmd("QUIT", "+OK")
	if e.count() != 1 {
		t.Fatal("RSET did not undelete")
	}
}

func TestDroppedConnectionDeletesNothing(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver(msg("a", "x\r\n"))
	c := e.login()
	c.cmd("DELE 1", "+OK")
	c.conn.Close()
	// The next login may race the server noticing the drop; once the
	// dropped session's lock is released nothing must be gone.
	c2 := e.loginRetry()
	c2.cmd("STAT", "+OK 1 ")
}

func TestQuitBeforeLogin(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.dial()
	c.cmd("QUIT", "+OK")
	c.closed()
}
