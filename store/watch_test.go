package store

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mailsuite/internal/pgtest"
)

// waitUp waits until f listens, and returns its wake channel then.
func waitUp(t *testing.T, f *changeFeed) <-chan struct{} {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		wake, up := f.subscribe()
		if up {
			return wake
		}
		if time.Now().After(deadline) {
			t.Fatal("the change feed never listened")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func woken(t *testing.T, wake <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-wake:
	case <-time.After(time.Minute):
		t.Fatalf("no wake-up after %s", what)
	}
}

// TestChangeFeedNotifiesAndReconnects: a NOTIFY committed by another
// connection (another host's smtpd) wakes the watchers; one in a
// transaction that rolls back does not; and after the listening
// connection is lost, the feed listens again, waking the watchers when
// it does (they may have missed a change meanwhile).
func TestChangeFeedNotifiesAndReconnects(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	f := newChangeFeed(dsn)
	defer f.close()
	other, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)

	wake := waitUp(t, f)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, notifyChangesSQL); err != nil {
		t.Fatal(err)
	}
	tx.Rollback(ctx)
	if _, err := other.Exec(ctx, notifyChangesSQL); err != nil {
		t.Fatal(err)
	}
	woken(t, wake, "a committed notification")
	wake, _ = f.subscribe()
	// The rolled-back one arrived never: the first wake-up was the
	// committed one, and none is pending now.
	select {
	case <-wake:
		t.Fatal("woken by a notification that was rolled back or already seen")
	case <-time.After(200 * time.Millisecond):
	}

	if _, err := other.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	woken(t, wake, "the connection was lost")
	wake = waitUp(t, f)
	if _, err := other.Exec(ctx, notifyChangesSQL); err != nil {
		t.Fatal(err)
	}
	woken(t, wake, "a notification after reconnecting")
}

// TestWaitChangePollsSQLite: on SQLite, WaitChange returns after the poll
// interval, so the watcher reads the log again, and at once when ctx
// ends.
func TestWaitChangePollsSQLite(t *testing.T) {
	s := openTest(t)
	if err := s.WaitChange(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.WaitChange(ctx, 0); err != context.Canceled {
		t.Fatalf("WaitChange with an ended context: %v", err)
	}
}
