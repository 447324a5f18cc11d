package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mailsuite/internal/pgtest"
)

// lockFunc takes a maildrop lock as LockMaildrop does, on one backend.
type lockFunc func(userID int64, wait time.Duration) (func(), error)

func sqliteLocks(t *testing.T) lockFunc {
	s := openTest(t)
	return func(userID int64, wait time.Duration) (func(), error) {
		return s.LockMaildrop(context.Background(), userID, wait)
	}
}

// pgLocks takes the locks on dsn, each on its own connection, as two
// pop3d processes on two hosts do.
func pgLocks(dsn string) lockFunc {
	return func(userID int64, wait time.Duration) (func(), error) {
		ctx := context.Background()
		return lockMaildrop(ctx, func() (maildropLocker, error) { return newPGMaildropLock(ctx, dsn, userID) }, userID, wait)
	}
}

func TestMaildropLock(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testMaildropLock(t, sqliteLocks(t)) })
	t.Run("postgres", func(t *testing.T) { testMaildropLock(t, pgLocks(pgtest.DSN(t))) })
}

func testMaildropLock(t *testing.T, lock lockFunc) {
	unlock1, err := lock(7, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock(7, 0); !errors.Is(err, ErrMaildropLocked) {
		t.Fatalf("second lock: %v, want ErrMaildropLocked", err)
	}
	if _, err := lock(7, 30*time.Millisecond); !errors.Is(err, ErrMaildropLocked) {
		t.Fatalf("lock with wait: %v, want ErrMaildropLocked", err)
	}
	unlock2, err := lock(8, 0)
	if err != nil {
		t.Fatalf("other user's lock: %v", err)
	}
	unlock2()
	// A waiter gets the lock when the holder lets go.
	got := make(chan error, 1)
	go func() {
		unlock, err := lock(7, time.Minute)
		if err == nil {
			unlock()
		}
		got <- err
	}()
	unlock1()
	unlock1() // a second release is harmless
	if err := <-got; err != nil {
		t.Fatalf("waiting lock: %v", err)
	}
	unlock3, err := lock(7, 0)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock3()
}

// TestMaildropLockDiesWithConnection: a pop3d that dies (its connection
// to PostgreSQL ends without a word) leaves the maildrop free, on any
// host.
func TestMaildropLockDiesWithConnection(t *testing.T) {
	dsn := pgtest.DSN(t)
	lock := pgLocks(dsn)
	if _, err := lock(7, 0); err != nil { // never released
		t.Fatal(err)
	}
	if _, err := lock(7, 0); !errors.Is(err, ErrMaildropLocked) {
		t.Fatalf("second lock: %v, want ErrMaildropLocked", err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND classid = $1 AND objid = 7`, maildropLockClass); err != nil {
		t.Fatal(err)
	}
	unlock, err := lock(7, time.Minute)
	if err != nil {
		t.Fatalf("lock after the holder's connection died: %v", err)
	}
	unlock()
}

// TestUnlockWakesWaiters: a session that ends wakes the sessions of this
// process waiting for the same maildrop, and only those.
func TestUnlockWakesWaiters(t *testing.T) {
	s := openTest(t)
	unlock, err := s.LockMaildrop(context.Background(), 8, 0)
	if err != nil {
		t.Fatal(err)
	}
	same, other := releases.wait(8), releases.wait(9)
	unlock()
	select {
	case <-same:
	default:
		t.Fatal("unlock did not wake a waiter for the same maildrop")
	}
	select {
	case <-other:
		t.Fatal("unlock woke a waiter for another maildrop")
	default:
	}
}
