package main

import (
	"strings"
	"testing"
)

// A message that arrives while a session is in IDLE is recent in that
// session, which is told of it first, and in no other (RFC 3501 2.3.2),
// even when another session runs a command before the first leaves IDLE.
func TestIdleClaimsRecent(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver("old")
	a, b, c := e.dial(), e.dial(), e.dial()
	for _, tc := range []*textConn{a, b, c} {
		tc.login()
	}
	c.cmd("SELECT INBOX") // takes "old" as recent
	c.cmd("CLOSE")
	a.cmd("SELECT INBOX")
	b.cmd("SELECT INBOX")
	a.send("i1 IDLE\r\n")
	if l := a.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %q", l)
	}
	e.deliver("new")
	var idled []string
	for !contains(idled, "* 2 EXISTS") {
		idled = append(idled, a.line())
	}
	if untagged, _ := b.cmd("NOOP"); !contains(untagged, "* 2 EXISTS") || contains(untagged, "* 1 RECENT") {
		t.Errorf("NOOP in the other session: %q", untagged)
	}
	a.send("DONE\r\n")
	rest, r := a.readAnswer("i1")
	if !strings.HasPrefix(r, "OK") {
		t.Fatalf("IDLE: %s", r)
	}
	if idled = append(idled, rest...); !contains(idled, "* 1 RECENT") {
		t.Errorf("IDLE: no RECENT for the new message: %q", idled)
	}
	for _, q := range []struct {
		sess     *textConn
		who, cmd string
		want     string
		wantNot  string
	}{
		{a, "idler", "FETCH 2 (FLAGS)", `* 2 FETCH (UID 2 FLAGS (\Recent))`, ""},
		{a, "idler", "SEARCH RECENT", "* SEARCH 2", ""},
		{b, "other", "FETCH 2 (FLAGS)", `* 2 FETCH (UID 2 FLAGS ())`, ""},
		{b, "other", "SEARCH RECENT", "* SEARCH", ""},
		{c, "third", "STATUS INBOX (RECENT)", "* STATUS INBOX (RECENT 0)", ""},
	} {
		if untagged, _ := q.sess.cmd("%s", q.cmd); !contains(untagged, q.want) {
			t.Errorf("%s: %s: %q, want %s", q.who, q.cmd, untagged, q.want)
		}
	}
}
