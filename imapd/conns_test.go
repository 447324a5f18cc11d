package main

import (
	"strings"
	"testing"
)

// TestShutdownSaysBye: at shutdown every connection, idle or not yet
// logged in, gets an untagged BYE before it is closed, and a closed
// session is forgotten.
func TestShutdownSaysBye(t *testing.T) {
	e := newEnv(t, withPlaintext)
	idle := e.dial()
	idle.login()
	if _, r := idle.cmd("SELECT INBOX"); !strings.HasPrefix(r, "OK") {
		t.Fatalf("SELECT: %s", r)
	}
	idle.send("i1 IDLE\r\n")
	if l := idle.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %s", l)
	}
	fresh := e.dial()
	gone := e.dial()
	gone.cmd("LOGOUT")

	e.srv.conns.byeAll("server shutting down")
	for _, c := range []*textConn{idle, fresh} {
		if l := c.line(); !strings.HasPrefix(l, "* BYE") {
			t.Errorf("got %q, want * BYE", l)
		}
	}
	e.srv.conns.mu.Lock()
	n := len(e.srv.conns.set)
	e.srv.conns.mu.Unlock()
	if n > 2 {
		t.Errorf("%d connections tracked, want at most the 2 open ones", n)
	}
}
