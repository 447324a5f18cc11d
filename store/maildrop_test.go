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
	unlock2()
	// A waiter elsewhere gets the lock when the holder lets go.
	got := make(chan error, 1)
	go func() {
		unlock, err := b.LockMaildrop(ctx, 7, time.Minute)
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
	unlock3, err := a.LockMaildrop(ctx, 7, 0)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock3()
}

// TestMaildropLockPostgres: on PostgreSQL the lock holds across hosts
// whatever backend the other tests run on, and a pop3d that dies (its
// connection ends without a word) leaves the maildrop free.
func TestMaildropLockPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	var hosts [2]*Store
	for i := range hosts {
		s, err := OpenPostgres(dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		hosts[i] = s
	}
	if _, err := hosts[0].LockMaildrop(ctx, 7, 0); err != nil { // never released
		t.Fatal(err)
	}
	if _, err := hosts[1].LockMaildrop(ctx, 7, 0); !errors.Is(err, ErrMaildropLocked) {
		t.Fatalf("lock on the other host: %v, want ErrMaildropLocked", err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND classid = $1 AND objid = 7`, maildropLockClass); err != nil {
		t.Fatal(err)
	}
	unlock, err := hosts[1].LockMaildrop(ctx, 7, time.Minute)
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
