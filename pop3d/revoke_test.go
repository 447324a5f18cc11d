package main

import (
	"context"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/shared/auth"
)

// TestRevokedSessionEnds: a session whose user is removed, or whose
// password changes, ends at its next command with -ERR [AUTH] and a close;
// deletions marked before are not carried out. SMTP authority turned off
// leaves a reading session alone, but deletes the user's grants.
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
			e.deliver(msg("a", "x\r\n"))
			c := e.login()
			c.cmd("DELE 1", "+OK")
			if err := e.st.SetUserSMTP(ctx, testUser, false); err != nil {
				t.Fatal(err)
			}
			if g, _ := e.st.LiveGrants(ctx, "127.0.0.1"); len(g) != 0 {
				t.Fatalf("grants after SMTP off: %+v", g)
			}
			c.cmd("NOOP", "+OK")
			if err := revoke(e); err != nil {
				t.Fatal(err)
			}
			c.cmd("QUIT", "-ERR [AUTH] login no longer valid")
			c.closed()
			if name == "passwd" && e.count() != 1 {
				t.Fatal("a revoked session's QUIT deleted mail")
			}
		})
	}
}

// TestRevokedFromAnotherHost: a password changed through another handle
// on the store (another host's mailctl on PostgreSQL, another process on
// SQLite) ends the session at its first command once the change reached
// this store's credential stamp. The session logs in with the stamp
// known, so its commands are answered on the stamp alone until then: it
// is the stamp that must carry the change, on PostgreSQL the listening
// connection's notification.
func TestRevokedFromAnotherHost(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withPlaintext)
	testutil.KnownCredentialStamp(t, e.st)
	c := e.login()
	c.cmd("NOOP", "+OK")
	before := testutil.KnownCredentialStamp(t, e.st)
	h, _ := auth.HashPassword("another one")
	if err := testutil.OpenOther(t, e.st, e.dir).SetUserPassword(ctx, testUser, h); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); e.st.CredentialStamp() == before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("another host's password change never moved the credential stamp")
		}
	}
	c.cmd("NOOP", "-ERR [AUTH] login no longer valid")
	c.closed()
}

// TestLoginNoGrantWithoutSMTP: a user without SMTP authority reads mail
// but gets no relay grant.
func TestLoginNoGrantWithoutSMTP(t *testing.T) {
	e := newEnv(t, withPlaintext)
	if err := e.st.SetUserSMTP(context.Background(), testUser, false); err != nil {
		t.Fatal(err)
	}
	e.login().cmd("STAT", "+OK")
	if g, _ := e.st.LiveGrants(context.Background(), "127.0.0.1"); len(g) != 0 {
		t.Fatalf("grants = %+v, want none", g)
	}
}
