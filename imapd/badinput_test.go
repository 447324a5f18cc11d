package main

import (
	"strings"
	"testing"
)

// Malformed input gets BAD or NO and the session keeps working.
func TestBadInput(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver("one")
	tc := e.dial()
	tc.login()
	tc.cmd("SELECT INBOX")
	for _, cmd := range []string{
		"FETCH 1 (UID",
		"FETCH 1 UID)",
		"FETCH 1 (BODY[HEADER.FIELDS (Subject])",
		"SEARCH (OR FLAGGED",
		"STORE 1 +FLAGS (\\Seen",
		"SELECT \"a\x00b\"",
		"CREATE \"&Jjo\"",
		"CREATE \"bad\xffname\"",
		"CREATE \"a/../b\"",
		"CREATE \"\"",
		"COPY 1 \"&-&\"",
		"FETCH 1 (BODY[1.2.3.4.5.6.7.8.9.10]<4294967295.4294967295>)",
		"XYZZY",
		"UID FETCH 1:* (BODY.PEEK[" + strings.Repeat("1.", 200) + "1])",
	} {
		_, r := tc.cmd("%s", cmd)
		if !strings.HasPrefix(r, "BAD") && !strings.HasPrefix(r, "NO") && !strings.HasPrefix(r, "OK") {
			t.Errorf("%q -> %q", cmd, r)
		}
		if _, r := tc.cmd("NOOP"); !strings.HasPrefix(r, "OK") {
			t.Fatalf("session wedged after %q: %s", cmd, r)
		}
	}
	// A non-synchronizing literal within limits works (LITERAL+).
	if _, r := tc.cmd("STATUS {5+}\r\nINBOX (MESSAGES)"); !strings.HasPrefix(r, "OK") {
		t.Fatalf("LITERAL+: %s", r)
	}
	// An oversized non-synchronizing literal in a non-APPEND command is
	// refused; its data then arrives as (bad) commands, and the session
	// survives.
	_, r := tc.cmd("STATUS {9000+}\r\n%s (MESSAGES)", strings.Repeat("x", 9000))
	if !strings.HasPrefix(r, "NO") && !strings.HasPrefix(r, "BAD") {
		t.Fatalf("huge literal: %s", r)
	}
	tc.cmd("NOOP")
	if _, r := tc.cmd("NOOP"); !strings.HasPrefix(r, "OK") {
		t.Fatalf("after huge literal: %s", r)
	}
}
