package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// WithCommitObserver has the store report the duration of each write
// transaction that committed, from BEGIN to the end of COMMIT (one group
// commit of deliveries counts once), for the daemons' commit latency
// metric. observe runs on the writer's goroutine, so it must be quick.
func WithCommitObserver(observe func(time.Duration)) Option {
	return func(s *Store) { s.onCommit = observe }
}

// committed reports a write transaction begun at start that committed.
func (s *Store) committed(start time.Time) {
	if s.onCommit != nil {
		s.onCommit(time.Since(start))
	}
}

// QueueSummary is the outbound queue at a glance, for monitoring.
type QueueSummary struct {
	// Messages is the number of queued messages, pending or awaiting
	// their bounce.
	Messages int
	// Oldest is when the oldest of them was queued; zero when the queue
	// is empty.
	Oldest time.Time
}

// QueueSummary counts the queued messages and finds the oldest, in one
// read.
func (s *Store) QueueSummary(ctx context.Context) (QueueSummary, error) {
	var q QueueSummary
	var oldest sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), MIN(created) FROM queue`).Scan(&q.Messages, &oldest)
	if err != nil {
		return QueueSummary{}, fmt.Errorf("store: queue summary: %w", err)
	}
	if oldest.Valid {
		q.Oldest = time.Unix(oldest.Int64, 0)
	}
	return q, nil
}

// LiveGrantCount counts the unexpired relay grants, of all addresses.
func (s *Store) LiveGrantCount(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM grants WHERE expires > ?`, s.unix()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count grants: %w", err)
	}
	return n, nil
}
