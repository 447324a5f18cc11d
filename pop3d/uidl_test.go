package main

import (
	"context"
	"fmt"
	"testing"

	"mailsuite/store"
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

// TestUIDLImported: a message imported from Dovecot keeps the UIDL
// Dovecot served, so a client that leaves mail on the server does not
// download it again; mail delivered after the move gets mailsuite's.
func TestUIDLImported(t *testing.T) {
	e := newEnv(t, withPlaintext)
	ctx := context.Background()
	mb, err := e.st.MailboxByID(ctx, e.inbox)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.st.Import(ctx, e.userID, store.ImportMailbox{Name: "INBOX", UIDValidity: mb.UIDValidity, UIDNext: 3,
		Messages: []store.ImportMessage{
			{UID: 1, Body: []byte(msg("one", "x\r\n")), UIDL: "00000001" + fmt.Sprintf("%08X", mb.UIDValidity)},
			{UID: 2, Body: []byte(msg("two", "y\r\n")), UIDL: "kept-from-an-older-move"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	u3 := e.deliver(msg("three", "z\r\n"))
	c := e.login()
	c.cmd("UIDL", "+OK")
	got := c.multi()
	want := []string{"1 00000001" + fmt.Sprintf("%08X", mb.UIDValidity), "2 kept-from-an-older-move", fmt.Sprintf("3 %d.%d", mb.UIDValidity, u3)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("UIDL = %q, want %q", got, want)
	}
	c.cmd("UIDL 2", "+OK 2 kept-from-an-older-move")
	c.cmd("QUIT", "+OK")
}
