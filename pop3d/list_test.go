package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestStatList(t *testing.T) {
	e := newEnv(t, withPlaintext)
	m1, m2 := msg("one", "hello\r\n"), msg("two", "world\r\nagain\r\n")
	e.deliver(m1)
	e.deliver(m2)
	c := e.login()
	c.cmd("STAT", fmt.Sprintf("+OK 2 %d", len(m1)+len(m2)))
	c.cmd("LIST", "+OK 2 messages")
	got := c.multi()
	want := []string{fmt.Sprintf("1 %d", len(m1)), fmt.Sprintf("2 %d", len(m2))}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("LIST = %q, want %q", got, want)
	}
	c.cmd("LIST 2", fmt.Sprintf("+OK 2 %d", len(m2)))
	c.cmd("DELE 1", "+OK")
	c.cmd("STAT", fmt.Sprintf("+OK 1 %d", len(m2)))
	c.cmd("LIST", "+OK")
	if got := c.multi(); len(got) != 1 || !strings.HasPrefix(got[0], "2 ") {
		t.Fatalf("LIST after DELE = %q", got)
	}
	c.cmd("LIST 1", "-ERR message 1 already deleted")
}

func TestListBadArgs(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver(msg("one", "x\r\n"))
	c := e.login()
	for _, arg := range []string{"0", "2", "-1", "+1", "abc", "1.5", "99999999999999999999", "4294967297"} {
		c.cmd("LIST "+arg, "-ERR")
	}
	c.cmd("LIST 1", "+OK 1 ") // resets the error count
	c.cmd("LIST 1 2", "-ERR")
	c.cmd("STAT 1", "-ERR")
}

func TestNewMailAppearsAtNextLogin(t *testing.T) {
	e := newEnv(t, withPlaintext)
	c := e.login()
	c.cmd("STAT", "+OK 0 0")
	e.deliver(msg("late", "x\r\n")) // not in this session's snapshot
	c.cmd("STAT", "+OK 0 0")
	c.cmd("QUIT", "+OK")
	e.login().cmd("STAT", "+OK 1 ")
}
