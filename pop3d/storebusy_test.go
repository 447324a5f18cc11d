package main

import (
	"context"
	"testing"
	"time"

	"mailsuite/internal/testutil"
	"mailsuite/store"
)

// TestStoreHeldUp: while another process holds the store's write lock, a
// command that must write (a login, a QUIT that deletes) ends within the
// session's store deadline with a temporary -ERR instead of hanging, and
// deletes nothing; a session that only reads is served all along, and once
// the lock is gone everything works again.
func TestStoreHeldUp(t *testing.T) {
	e := newEnv(t, withPlaintext, func(s *server) { s.opTimeout = 500 * time.Millisecond })
	if e.st.Driver() != store.DriverSQLite {
		t.Skip("testutil.HoldWriteLock holds SQLite's write lock")
	}
	e.deliver(msg("one", "first"))
	e.deliver(msg("two", "second"))
	const bob = "bob@example.com"
	ctx := context.Background()
	bobID, err := e.st.AddUser(ctx, bob, testHash(), true)
	if err != nil {
		t.Fatal(err)
	}
	bobInbox, err := e.st.MailboxByName(ctx, bobID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Append(ctx, bobInbox.ID, nil, time.Now(), []byte(msg("bob's", "third"))); err != nil {
		t.Fatal(err)
	}

	alice := e.login()
	alice.cmd("DELE 1", "+OK")
	other := e.dial()
	other.cmd("USER "+bob, "+OK")
	other.cmd("PASS "+testPass, "+OK")

	release := testutil.HoldWriteLock(t, e.st.Path())
	alice.cmd("QUIT", "-ERR [SYS/TEMP] could not delete messages, none were deleted")
	alice.closed()
	late := e.dial()
	late.cmd("USER "+testUser, "+OK")
	late.cmd("PASS "+testPass, "-ERR [SYS/TEMP] mail store busy, try again later")
	other.cmd("RETR 1", "+OK")
	if body := other.multi(); len(body) == 0 || body[len(body)-1] != "third" {
		t.Errorf("RETR while the store is held up: %q", body)
	}
	release()

	if n := e.count(); n != 2 {
		t.Fatalf("%d messages after the failed QUIT, want 2", n)
	}
	late.cmd("PASS "+testPass, "-ERR") // USER is needed again
	again := e.login()
	again.cmd("STAT", "+OK 2 ")
	again.cmd("DELE 1", "+OK")
	again.cmd("QUIT", "+OK")
	if n := e.count(); n != 1 {
		t.Errorf("%d messages after QUIT, want 1", n)
	}
	other.cmd("QUIT", "+OK")
}
