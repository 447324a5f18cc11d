package main

import (
	"context"
	"fmt"
	"testing"
)

func TestUIDL(t *testing.T) {
	e := newEnv(t, withPlaintext)
	u1 := e.deliver(msg("one", "x\r\n"))
	u2 := e.deliver(msg("two", "y\r\n"))
	mb, err := e.st.MailboxByID(context.Background(), e.inbox)
	if err != nil {
		t.Fatal(err)
	}
	id := func(uid uint32) string { return fmt.Sprintf("%d.%d", mb.UIDValidity, uid) }
	c := e.login()
	c.cmd("UIDL", "+OK")
	got := c.multi()
	if len(got) != 2 || got[0] != "1 "+id(u1) || got[1] != "2 "+id(u2) {
		t.Fatalf("UIDL = %q", got)
	}
	c.cmd("UIDL 2", "+OK 2 "+id(u2))
	c.cmd("DELE 1", "+OK")
	c.cmd("UIDL 1", "-ERR")
	c.cmd("QUIT", "+OK")

	// After the deletion the remaining message keeps its id, and a new
	// message never reuses the deleted one's.
	u3 := e.deliver(msg("three", "z\r\n"))
	c = e.login()
	c.cmd("UIDL", "+OK")
	got = c.multi()
	if len(got) != 2 || got[0] != "1 "+id(u2) || got[1] != "2 "+id(u3) || u3 == u1 {
		t.Fatalf("UIDL after delete = %q", got)
	}
}
