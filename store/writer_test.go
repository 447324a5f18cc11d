package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestWriteEndsWithContext: a write blocked by another process's lock
// gives up when its context ends, saying so, rather than after SQLite's
// busy timeout and retries (minutes); the writer connection keeps its
// full busy timeout for later writes, which succeed once the lock is
// released.
func TestWriteEndsWithContext(t *testing.T) {
	s := openTest(t)
	u := seed(t, s)
	mb := inbox(t, s, u.ID)
	release := holdWriteLock(t, s)
	defer release()

	for name, write := range map[string]func(ctx context.Context) error{
		"durable": func(ctx context.Context) error { return s.Grant(ctx, "192.0.2.1", u.ID, time.Minute) },
		"shared": func(ctx context.Context) error { // the committer's, with deliveries
			_, err := s.Append(ctx, mb.ID, nil, time.Now(), []byte("m\r\n"))
			return err
		},
		"lazy": func(ctx context.Context) error {
			_, err := s.ReserveAttempt(ctx, "192.0.2.1", u.Address, ThrottleLimits{Window: time.Minute, PerIP: 10, PerAccount: 10})
			return err
		},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := write(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s write under a held lock: %v, want a deadline error", name, err)
		}
	}
	if ms, err := writerWait(s); err != nil || (!s.postgres() && ms != busyTimeout.Milliseconds()) {
		t.Errorf("writer busy timeout after a cut wait = %d ms (%v), want %d", ms, err, busyTimeout.Milliseconds())
	}
	release()
	if err := s.Grant(context.Background(), "192.0.2.1", u.ID, time.Minute); err != nil {
		t.Fatalf("write after the lock was released: %v", err)
	}
}
