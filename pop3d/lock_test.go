package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mailsuite/store"
)

// loginRetry logs in, retrying while the maildrop is still locked by a
// session the server has not yet noticed is gone.
func (e *testEnv) loginRetry() *testconn {
	e.t.Helper()
	for i := 0; ; i++ {
		c := e.dial()
		c.cmd("USER "+testUser, "+OK")
		c.send("PASS " + testPass)
		l := c.readLine()
		if strings.HasPrefix(l, "+OK") {
			return c
		}
		if !strings.HasPrefix(l, "-ERR [IN-USE]") || i == 100 {
			e.t.Fatalf("login: %q", l)
		}
		c.conn.Close()
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTwoSessionsOneMaildrop(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver(msg("a", "x\r\n"))
	c1 := e.login()
	c2 := e.dial()
	c2.cmd("USER "+testUser, "+OK")
	c2.cmd("PASS "+testPass, "-ERR [IN-USE]")
	// The refused session is still usable once the first one quits.
	c1.cmd("DELE 1", "+OK")
	c1.cmd("QUIT", "+OK")
	c1.closed()
	c2.cmd("USER "+testUser, "+OK")
	c2.cmd("PASS "+testPass, "+OK maildrop has 0 messages")
}

func TestLoginWaitsForEndingSession(t *testing.T) {
	e := newEnv(t, withPlaintext, func(s *server) { s.lockWait = 10 * time.Second })
	e.deliver(msg("a", "x\r\n"))
	c1 := e.login()
	c1.cmd("DELE 1", "+OK")
	c2 := e.dial()
	c2.cmd("USER "+testUser, "+OK")
	c2.send("PASS " + testPass) // waits for c1's lock
	c1.cmd("QUIT", "+OK")
	c2.expect("+OK maildrop has 0 messages")
}

// TestQuitAfterLockLost: when the PostgreSQL connection holding the
// maildrop lock dies mid-session, another host may take the maildrop, so
// QUIT deletes nothing, says why, logs it once and closes; the messages
// are all there for the next session. With no DELE pending, QUIT has
// nothing to protect and signs off as usual.
func TestQuitAfterLockLost(t *testing.T) {
	e := newEnv(t, withPlaintext)
	if e.st.Driver() != store.DriverPostgres {
		t.Skip("only the PostgreSQL lock can be lost while held: an flock lasts as long as its open file")
	}
	e.deliver(msg("a", "x\r\n"))
	c := e.login()
	c.cmd("DELE 1", "+OK")
	killMaildropLock(t, e.st, e.userID)
	c.cmd("QUIT", "-ERR [SYS/TEMP] maildrop lock lost; no messages deleted")
	c.closed()
	logs := e.logBuf.String()
	if n := strings.Count(logs, `msg="maildrop lock lost, nothing deleted"`); n != 1 ||
		!strings.Contains(logs, "level=WARN msg=\"maildrop lock lost") || !strings.Contains(logs, "user="+testUser) {
		t.Errorf("want one Warn with the user for the lost lock (%d):\n%s", n, logs)
	}
	if strings.Contains(logs, testPass) {
		t.Errorf("password in the log:\n%s", logs)
	}

	again := e.login()
	again.cmd("STAT", "+OK 1 ")
	again.cmd("UIDL 1", "+OK 1 ")
	killMaildropLock(t, e.st, e.userID)
	again.cmd("QUIT", "+OK")
	again.closed()
	if n := e.count(); n != 1 {
		t.Errorf("%d messages after both sessions, want 1", n)
	}
}

// killMaildropLock ends, from a connection of its own, the PostgreSQL
// backend holding userID's maildrop lock (the two-key advisory lock on
// the user's ID in st's database), as a server restart or an operator's
// pg_terminate_backend would, and waits until it is gone.
func killMaildropLock(t *testing.T, st *store.Store, userID int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, st.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var killed int
	err = conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 60000)) FROM pg_locks
		WHERE locktype = 'advisory' AND objsubid = 2 AND objid = $1
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, userID).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminate the backend of the maildrop lock: %d ended, %v", killed, err)
	}
}
