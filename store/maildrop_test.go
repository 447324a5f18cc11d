package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mailsuite/internal/pgtest"
)

// twoStores opens the backend under test twice on one source: two pop3d
// processes, on one host (SQLite) or on two (PostgreSQL).
func twoStores(t *testing.T) (*Store, *Store) {
	t.Helper()
	src := testSource(t)
	var out [2]*Store
	for i := range out {
		s, err := openSource(src)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out[0], out[1]
}

func TestMaildropLock(t *testing.T) {
	a, b := twoStores(t)
	ctx := context.Background()
	unlock1, err := a.LockMaildrop(ctx, 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Store{a, b} {
		if _, err := s.LockMaildrop(ctx, 7, 0); !errors.Is(err, ErrMaildropLocked) {
			t.Fatalf("second lock: %v, want ErrMaildropLocked", err)
		}
	}
	if _, err := b.LockMaildrop(ctx, 7, 30*time.Millisecond); !errors.Is(err, ErrMaildropLocked) {
		t.Fatalf("lock with wait: %v, want ErrMaildropLocked", err)
	}
	unlock2, err := b.LockMaildrop(ctx, 8, 0)
	if err != nil {
		t.Fatalf("other user's lock: %v", err)
	}
	unlock2.Release()
	// A waiter elsewhere gets the lock when the holder lets go.
	got := make(chan error, 1)
	go func() {
		unlock, err := b.LockMaildrop(ctx, 7, time.Minute)
		if err == nil {
			unlock.Release()
		}
		got <- err
	}()
	unlock1.Release()
	unlock1.Release() // a second release is harmless
	if err := <-got; err != nil {
		t.Fatalf("waiting lock: %v", err)
	}
	unlock3, err := a.LockMaildrop(ctx, 7, 0)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock3.Release()
}

// TestMaildropLockPostgres: on PostgreSQL the lock holds across hosts
// whatever backend the other tests run on, and a pop3d that dies (its
// connection ends without a word) leaves the maildrop free.
func TestMaildropLockPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	var hosts [2]*Store
	for i := range hosts {
		hosts[i] = openHost(t, dsn)
	}
	if _, err := hosts[0].LockMaildrop(ctx, 7, 0); err != nil { // never released
		t.Fatal(err)
	}
	if _, err := hosts[1].LockMaildrop(ctx, 7, 0); !errors.Is(err, ErrMaildropLocked) {
		t.Fatalf("lock on the other host: %v, want ErrMaildropLocked", err)
	}
	killMaildropLock(t, dsn, 7)
	unlock, err := hosts[1].LockMaildrop(ctx, 7, time.Minute)
	if err != nil {
		t.Fatalf("lock after the holder's connection died: %v", err)
	}
	unlock.Release()
}

// TestMaildropLockHeld: a lock whose PostgreSQL connection dies is found
// lost, another session may then take the maildrop, and releasing the
// lost lock is safe and leaves the pool serving new locks. On SQLite the
// lock cannot be lost while held.
func TestMaildropLockHeld(t *testing.T) {
	a, b := twoStores(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lock, err := a.LockMaildrop(ctx, 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := lock.Held(ctx); err != nil {
		t.Fatalf("Held while held: %v", err)
	}
	if testDriver() != DriverPostgres {
		lock.Release()
		if err := lock.Held(ctx); !errors.Is(err, ErrMaildropLockLost) {
			t.Fatalf("Held after Release: %v, want ErrMaildropLockLost", err)
		}
		return
	}
	killMaildropLock(t, a.DSN(), 7)
	if err := lock.Held(ctx); !errors.Is(err, ErrMaildropLockLost) {
		t.Fatalf("Held after the connection died: %v, want ErrMaildropLockLost", err)
	}
	other, err := b.LockMaildrop(ctx, 7, time.Minute)
	if err != nil {
		t.Fatalf("lock on the other host after the loss: %v", err)
	}
	lock.Release()
	lock.Release()
	other.Release()
	again, err := a.LockMaildrop(ctx, 7, 0)
	if err != nil {
		t.Fatalf("new lock from the pool after the loss: %v", err)
	}
	if err := again.Held(ctx); err != nil {
		t.Fatalf("Held of the new lock: %v", err)
	}
	again.Release()
}

// killMaildropLock ends, from a connection of its own, the PostgreSQL
// backend holding userID's maildrop lock, as an operator's
// pg_terminate_backend or a server restart would, and waits until it is
// gone.
func killMaildropLock(t *testing.T, dsn string, userID int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var killed int
	err = conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 60000)) FROM pg_locks
		WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 2`,
		maildropLockClass, userID).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminate the backend of the maildrop lock: %d ended, %v", killed, err)
	}
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
	unlock.Release()
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

// BenchmarkMaildropLock is the lock's cost in a POP3 login: take and
// release, on the backend under test (with PostgreSQL, a connection of
// its own for each session).
func BenchmarkMaildropLock(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	for b.Loop() {
		unlock, err := s.LockMaildrop(ctx, 7, 0)
		if err != nil {
			b.Fatal(err)
		}
		unlock.Release()
	}
}
