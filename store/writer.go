package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
)

// writer is the store's single writer connection, taken for one write.
//
// A write waits for another process's lock in SQLite's busy handler,
// which a cancelled context does not interrupt: a call whose context
// allows one second would still wait busyTimeout. So before each attempt
// the connection's busy timeout is cut to what the context has left, and
// put back when the connection returns to the pool.
type writer struct {
	conn      *sql.Conn
	cut       bool            // the busy timeout is below busyTimeout
	pg        bool            // PostgreSQL: the write lock is an advisory lock
	committed func(time.Time) // Store.committed
}

func (s *Store) takeWriter(ctx context.Context) (*writer, error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &writer{conn: conn, committed: s.committed, pg: s.postgres()}, nil
}

// begin begins an IMMEDIATE transaction, waiting for the lock no longer
// than ctx allows.
func (w *writer) begin(ctx context.Context) (*sql.Tx, error) {
	if w.pg {
		return beginPostgres(ctx, w.conn, ctx, lockAlone)
	}
	if err := w.cutBusy(ctx); err != nil {
		return nil, err
	}
	return w.conn.BeginTx(ctx, nil)
}

// beginShared is begin for the committer's shared transaction: the wait
// for the lock ends with ctx, but the transaction is not bound to ctx, so
// one caller's deadline cannot roll back the others' writes. On
// PostgreSQL, mode says whether other hosts' deliveries may commit
// meanwhile.
func (w *writer) beginShared(ctx context.Context, mode lockMode) (*sql.Tx, error) {
	if w.pg {
		return beginPostgres(ctx, w.conn, context.Background(), mode)
	}
	if err := w.cutBusy(ctx); err != nil {
		return nil, err
	}
	return w.conn.BeginTx(context.Background(), nil)
}

// cutBusy cuts the busy timeout to what ctx has left, if that is less.
func (w *writer) cutBusy(ctx context.Context) error {
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left < busyTimeout {
			if _, err := w.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", max(left.Milliseconds(), 1))); err != nil {
				return err
			}
			w.cut = true
		}
	}
	return nil
}

// release puts the busy timeout back and returns the connection. One it
// cannot restore is discarded, so no later write inherits a short wait.
func (w *writer) release() {
	if w.cut {
		if _, err := w.conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout.Milliseconds())); err != nil {
			w.conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}
	w.conn.Close()
}

// run runs fn in one IMMEDIATE transaction and commits it, up to five
// times while the database is busy, pausing a little more each time. When
// ctx ends first the error says so (context.DeadlineExceeded or
// context.Canceled), so callers can tell a store that is held up from one
// that is broken.
func (w *writer) run(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var err error
	for i := 0; i < 5; i++ {
		if err = w.once(ctx, fn); !isBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ctx.Err(), err)
		case <-time.After(time.Duration(i+1) * 50 * time.Millisecond):
		}
	}
	return err
}

func (w *writer) once(ctx context.Context, fn func(tx *sql.Tx) error) error {
	start := time.Now()
	tx, err := w.begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	w.committed(start)
	return nil
}
