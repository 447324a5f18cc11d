package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/shared/auth"
)

// TestRevokedSessionEnds: after a password change or the user's removal,
// a logged-in session ends with a BYE at its next command, selected or
// not; an unrelated change (SMTP authority) leaves it alone.
func TestRevokedSessionEnds(t *testing.T) {
	ctx := context.Background()
	for name, revoke := range map[string]func(e *testEnv) error{
		"passwd": func(e *testEnv) error {
			h, _ := auth.HashPassword("another one")
			return e.st.SetUserPassword(ctx, testUser, h)
		},
		"rm": func(e *testEnv) error { return e.st.RemoveUser(ctx, testUser) },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, withPlaintext)
			testutil.KnownCredentialStamp(t, e.st) // the stamp's path, on PostgreSQL too
			idle, selected := e.dial(), e.dial()
			idle.login()
			selected.login()
			if _, r := selected.cmd("SELECT INBOX"); !strings.HasPrefix(r, "OK") {
				t.Fatalf("SELECT: %s", r)
			}
			if err := e.st.SetUserSMTP(ctx, testUser, false); err != nil {
				t.Fatal(err)
			}
			if _, r := idle.cmd("NOOP"); !strings.HasPrefix(r, "OK") {
				t.Fatalf("NOOP after SMTP off: %s", r)
			}
			if err := revoke(e); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []*textConn{idle, selected} {
				tc.send("x FETCH 1:* (FLAGS)\r\n")
				if l := tc.line(); !strings.HasPrefix(l, "* BYE ") {
					t.Fatalf("next command answered %q, want * BYE", l)
				}
				tc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if rest, err := io.ReadAll(tc.r); err != nil || len(rest) != 0 {
					t.Fatalf("after BYE: %q, %v; want the connection closed", rest, err)
				}
			}
		})
	}
}

// TestLoginNoGrantWithoutSMTP: a user without SMTP authority reads mail
// but gets no relay grant.
func TestLoginNoGrantWithoutSMTP(t *testing.T) {
	e := newEnv(t, withPlaintext)
	if err := e.st.SetUserSMTP(context.Background(), testUser, false); err != nil {
		t.Fatal(err)
	}
	e.dial().login()
	if g, _ := e.st.LiveGrants(context.Background(), "127.0.0.1"); len(g) != 0 {
		t.Fatalf("grants = %+v, want none", g)
	}
}
