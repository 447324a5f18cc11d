package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestRetrDotStuffing(t *testing.T) {
	e := newEnv(t, withPlaintext)
	body := msg("dots", ".leading dot\r\n..two dots\r\n.\r\nend\r\n")
	e.deliver(body)
	c := e.login()
	c.cmd("RETR 1", fmt.Sprintf("+OK %d octets", len(body)))
	// Read raw lines to check the stuffing on the wire.
	var raw []string
	for {
		l := c.readLine()
		if l == "." {
			break
		}
		raw = append(raw, l)
	}
	wire := strings.Join(raw, "\n")
	for _, want := range []string{"\n..leading dot\n", "\n...two dots\n", "\n..\n"} {
		if !strings.Contains(wire, want) {
			t.Errorf("wire lacks %q:\n%s", want, wire)
		}
	}
	got := 0
	for _, l := range raw {
		got += len(strings.TrimPrefix(l, ".")) + 2
	}
	if got != len(body) {
		t.Errorf("received %d octets, announced %d", got, len(body))
	}
}

func TestRetrBareLF(t *testing.T) {
	e := newEnv(t, withPlaintext)
	stored := "Subject: lf\n\nline one\n.dot\nno end"
	sent := "Subject: lf\r\n\r\nline one\r\n.dot\r\nno end\r\n"
	e.deliver(stored)
	c := e.login()
	c.cmd("STAT", fmt.Sprintf("+OK 1 %d", len(sent)))
	c.cmd("LIST 1", fmt.Sprintf("+OK 1 %d", len(sent)))
	c.cmd("RETR 1", fmt.Sprintf("+OK %d octets", len(sent)))
	got := strings.Join(c.multi(), "\r\n") + "\r\n"
	if got != sent {
		t.Fatalf("RETR = %q, want %q", got, sent)
	}
	// The cached size is used at the next login.
	c.cmd("QUIT", "+OK")
	e.login().cmd("STAT", fmt.Sprintf("+OK 1 %d", len(sent)))
}

func TestTop(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver(msg("top", "b1\r\n.b2\r\nb3\r\n"))
	c := e.login()
	c.cmd("TOP 1 0", "+OK")
	got := c.multi()
	if len(got) != 4 || got[2] != "Subject: top" || got[3] != "" {
		t.Fatalf("TOP 1 0 = %q", got)
	}
	c.cmd("TOP 1 2", "+OK")
	got = c.multi()
	if len(got) != 6 || got[4] != "b1" || got[5] != ".b2" {
		t.Fatalf("TOP 1 2 = %q", got)
	}
	c.cmd("TOP 1 999999999", "+OK")
	if got = c.multi(); len(got) != 7 {
		t.Fatalf("TOP 1 huge = %q", got)
	}
	for _, bad := range []string{"TOP 1", "TOP 1 -1", "TOP 1 x", "TOP 2 1", "TOP", "TOP 1 2 3"} {
		c.cmd(bad, "-ERR")
	}
}

func TestRetrErrors(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver(msg("a", "x\r\n"))
	c := e.login()
	c.cmd("RETR", "-ERR")
	c.cmd("RETR 0", "-ERR")
	c.cmd("RETR 2", "-ERR")
	c.cmd("RETR x", "-ERR")
	c.cmd("DELE 1", "+OK")
	c.cmd("RETR 1", "-ERR message 1 already deleted")
}

func TestRetrMessageRemovedElsewhere(t *testing.T) {
	e := newEnv(t, withPlaintext)
	uid := e.deliver(msg("a", "x\r\n"))
	c := e.login()
	if err := e.st.Expunge(t.Context(), e.inbox, []uint32{uid}); err != nil {
		t.Fatal(err)
	}
	c.cmd("RETR 1", "-ERR message 1 was removed")
	c.cmd("NOOP", "+OK")
}

func TestDisconnectMidRetr(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver(msg("big", strings.Repeat("0123456789 abcdefghijklmnopqrstuvwxyz\r\n", 200000)))
	e.deliver(msg("small", "x\r\n"))
	c := e.login()
	c.cmd("DELE 2", "+OK")
	c.send("RETR 1")
	c.expect("+OK")
	c.conn.Close()
	// The server must notice, unlock and delete nothing.
	c2 := e.loginRetry()
	c2.cmd("STAT", "+OK 2 ")
	if e.count() != 2 {
		t.Fatal("message lost")
	}
}

// TestRetrLarge covers a message too big for the reply buffer, which is
// copied out of the database read and sent after it, and, after it in
// the same session, a small one written straight from the read: both
// send exactly the announced octets, stuffed and with CRLF line ends.
func TestRetrLarge(t *testing.T) {
	e := newEnv(t, withPlaintext)
	stored := "Subject: big\n\n" + strings.Repeat(".dot line\nplain line\r\n", 4000)
	sent := strings.ReplaceAll(strings.ReplaceAll(stored, "\r\n", "\n"), "\n", "\r\n")
	e.deliver(stored)
	small := msg("small", ".x\r\n")
	e.deliver(small)
	c := e.login()
	for i, want := range []string{sent, small} {
		c.cmd(fmt.Sprintf("RETR %d", i+1), fmt.Sprintf("+OK %d octets", len(want)))
		if got := strings.Join(c.multi(), "\r\n") + "\r\n"; got != want {
			t.Fatalf("RETR sent %d octets, want %d", len(got), len(want))
		}
	}
}
