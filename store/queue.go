package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Recipient states in the outbound queue.
const (
	RcptPending = "pending"
	RcptSent    = "sent"
	RcptFailed  = "failed"
)

// DueRcpt is one queued recipient whose next attempt is due, with what
// the queue runner needs of its message (not the body, which it reads
// once per delivery).
type DueRcpt struct {
	ID       int64
	QueueID  int64
	Rcpt     string
	Attempts int
	Sender   string
	Created  time.Time
	IsBounce bool
	// Warned: the sender already got the delayed-delivery notice.
	Warned bool
}

// DueRecipients lists up to limit pending recipients whose next attempt
// is at or before now, oldest first.
func (s *Store) DueRecipients(ctx context.Context, now time.Time, limit int) ([]DueRcpt, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT r.id, r.queue_id, r.rcpt, r.attempts, q.sender, q.created, q.is_bounce, q.warned
		FROM queue_rcpts r JOIN queue q ON q.id = r.queue_id
		WHERE r.status = 'pending' AND r.next_attempt <= ?
		ORDER BY r.next_attempt, r.id LIMIT ?`, now.Unix(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due recipients: %w", err)
	}
	defer rows.Close()
	var out []DueRcpt
	for rows.Next() {
		var d DueRcpt
		var created int64
		if err := rows.Scan(&d.ID, &d.QueueID, &d.Rcpt, &d.Attempts, &d.Sender, &created, &d.IsBounce, &d.Warned); err != nil {
			return nil, fmt.Errorf("store: due recipients: %w", err)
		}
		d.Created = time.Unix(created, 0)
		out = append(out, d)
	}
	return out, rows.Err()
}

// QueueBody returns the raw message of a queued entry.
func (s *Store) QueueBody(ctx context.Context, queueID int64) ([]byte, error) {
	var body []byte
	err := s.r.QueryRowContext(ctx, `SELECT body FROM queue WHERE id = ?`, queueID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: queued message %d: %w", queueID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: queued message %d: %w", queueID, err)
	}
	return body, nil
}

// Outcome is the result of one delivery attempt to one recipient.
type Outcome struct {
	RcptID int64
	// Status is RcptSent, RcptFailed, or RcptPending (try again at Next).
	Status    string
	Next      time.Time
	Error     string // the reply or error, for the operator and the bounce
	RemoteMTA string // who answered; "" when no server did
	DSNStatus string // enhanced status code, e.g. "5.1.1"
}

// Progress says what is left of a queued message after RecordAttempts.
type Progress struct {
	Pending int  // recipients still to try
	Failed  int  // recipients that failed for good
	Deleted bool // the message was done and nobody needed a bounce
}

// RecordAttempts stores the outcomes of one attempt at a queued message
// and counts an attempt for each recipient. When no recipient is left
// pending and no bounce is owed (nothing failed, or the sender is null,
// or the message is itself a bounce), it deletes the message in the same
// transaction; otherwise the caller sends the bounce and then calls
// DeleteQueued. Outcomes for recipients already gone (deleted by the
// operator meanwhile) are ignored.
func (s *Store) RecordAttempts(ctx context.Context, queueID int64, outs []Outcome) (Progress, error) {
	var p Progress
	err := s.write(ctx, func(tx *sql.Tx) error {
		p = Progress{}
		for _, o := range outs {
			if _, err := tx.Exec(`UPDATE queue_rcpts SET status = ?, attempts = attempts + 1,
				next_attempt = ?, last_error = ?, remote_mta = ?, dsn_status = ?
				WHERE id = ? AND queue_id = ? AND status = 'pending'`,
				o.Status, o.Next.Unix(), o.Error, o.RemoteMTA, o.DSNStatus, o.RcptID, queueID); err != nil {
				return err
			}
		}
		var sender string
		var isBounce bool
		err := tx.QueryRow(`SELECT sender, is_bounce FROM queue WHERE id = ?`, queueID).Scan(&sender, &isBounce)
		if errors.Is(err, sql.ErrNoRows) {
			p.Deleted = true
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.QueryRow(`SELECT
				count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'failed')
				FROM queue_rcpts WHERE queue_id = ?`, queueID).Scan(&p.Pending, &p.Failed); err != nil {
			return err
		}
		if p.Pending == 0 && (p.Failed == 0 || sender == "" || isBounce) {
			if _, err := tx.Exec(`DELETE FROM queue WHERE id = ?`, queueID); err != nil {
				return err
			}
			p.Deleted = true
		}
		return nil
	})
	if err != nil {
		return Progress{}, fmt.Errorf("store: record delivery of queued message %d: %w", queueID, err)
	}
	return p, nil
}

// ClaimDelayWarning marks a queued message as warned about and reports
// whether this call did: the one caller that gets true sends the
// delayed-delivery notice, so the sender gets at most one. A caller that
// then fails to send it gives the claim back with UnclaimDelayWarning.
func (s *Store) ClaimDelayWarning(ctx context.Context, queueID int64) (bool, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE queue SET warned = 1 WHERE id = ? AND warned = 0`, queueID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: claim delay warning of queued message %d: %w", queueID, err)
	}
	return n == 1, nil
}

// UnclaimDelayWarning undoes ClaimDelayWarning, so the notice is tried
// again at the next attempt.
func (s *Store) UnclaimDelayWarning(ctx context.Context, queueID int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE queue SET warned = 0 WHERE id = ?`, queueID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: unclaim delay warning of queued message %d: %w", queueID, err)
	}
	return nil
}

// QueuedRcpt is one recipient of a queued message.
type QueuedRcpt struct {
	ID          int64
	Rcpt        string
	Status      string
	Attempts    int
	NextAttempt time.Time
	LastError   string
	RemoteMTA   string
	DSNStatus   string
}

// QueuedMessage is a message in the outbound queue with its recipients.
type QueuedMessage struct {
	ID       int64
	Sender   string
	Created  time.Time
	IsBounce bool
	Rcpts    []QueuedRcpt
}

// QueuedMessages lists the whole queue, oldest first (mailctl queue list).
func (s *Store) QueuedMessages(ctx context.Context) ([]QueuedMessage, error) {
	return s.queued(ctx, "")
}

// QueuedMessageByID returns one queued message, or ErrNotFound.
func (s *Store) QueuedMessageByID(ctx context.Context, id int64) (QueuedMessage, error) {
	ms, err := s.queued(ctx, "WHERE q.id = ?", id)
	if err != nil {
		return QueuedMessage{}, err
	}
	if len(ms) == 0 {
		return QueuedMessage{}, fmt.Errorf("store: queued message %d: %w", id, ErrNotFound)
	}
	return ms[0], nil
}

func (s *Store) queued(ctx context.Context, where string, args ...any) ([]QueuedMessage, error) {
	rows, err := s.r.QueryContext(ctx, `
		SELECT q.id, q.sender, q.created, q.is_bounce,
			r.id, r.rcpt, r.status, r.attempts, r.next_attempt, r.last_error, r.remote_mta, r.dsn_status
		FROM queue q JOIN queue_rcpts r ON r.queue_id = q.id `+where+`
		ORDER BY q.id, r.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list queue: %w", err)
	}
	defer rows.Close()
	var out []QueuedMessage
	for rows.Next() {
		var m QueuedMessage
		var r QueuedRcpt
		var created, next int64
		if err := rows.Scan(&m.ID, &m.Sender, &created, &m.IsBounce,
			&r.ID, &r.Rcpt, &r.Status, &r.Attempts, &next, &r.LastError, &r.RemoteMTA, &r.DSNStatus); err != nil {
			return nil, fmt.Errorf("store: list queue: %w", err)
		}
		r.NextAttempt = time.Unix(next, 0)
		if n := len(out); n > 0 && out[n-1].ID == m.ID {
			out[n-1].Rcpts = append(out[n-1].Rcpts, r)
			continue
		}
		m.Created = time.Unix(created, 0)
		m.Rcpts = []QueuedRcpt{r}
		out = append(out, m)
	}
	return out, rows.Err()
}

// FinishedQueued lists queued messages with no pending recipient left:
// their bounce is owed, or a crash came between the last attempt and the
// bounce. The queue runner sweeps them.
func (s *Store) FinishedQueued(ctx context.Context) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT q.id FROM queue q WHERE NOT EXISTS
		(SELECT 1 FROM queue_rcpts r WHERE r.queue_id = q.id AND r.status = 'pending') ORDER BY q.id`)
	if err != nil {
		return nil, fmt.Errorf("store: finished queue entries: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: finished queue entries: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// DeleteQueued removes a message and its recipients from the queue.
func (s *Store) DeleteQueued(ctx context.Context, id int64) error {
	return s.queueUpdate(ctx, id, `DELETE FROM queue WHERE id = ?`, id)
}

// RetryQueued makes every pending recipient of a message due at now.
func (s *Store) RetryQueued(ctx context.Context, id int64, now time.Time) error {
	return s.queueUpdate(ctx, id, `UPDATE queue_rcpts SET next_attempt = ?
		WHERE queue_id = ? AND status = 'pending'`, now.Unix(), id)
}

// queueUpdate runs one statement about message id, and reports
// ErrNotFound when the message does not exist.
func (s *Store) queueUpdate(ctx context.Context, id int64, query string, args ...any) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRow(`SELECT 1 FROM queue WHERE id = ?`, id).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		_, err := tx.Exec(query, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: queued message %d: %w", id, err)
	}
	return nil
}

// FlushQueue makes every pending recipient due at now and returns how
// many messages that touched.
func (s *Store) FlushQueue(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRow(`SELECT COUNT(DISTINCT queue_id) FROM queue_rcpts
			WHERE status = 'pending' AND next_attempt > ?`, now.Unix()).Scan(&n); err != nil {
			return err
		}
		_, err := tx.Exec(`UPDATE queue_rcpts SET next_attempt = ?
			WHERE status = 'pending' AND next_attempt > ?`, now.Unix(), now.Unix())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: flush queue: %w", err)
	}
	return int(n), nil
}

// AcquireLease takes or renews the named lease for holder until now+ttl.
// It succeeds when the lease is free, expired, or already holder's (or,
// with from != "", held by from: a holder known to be dead). Otherwise it
// returns false and the current holder.
func (s *Store) AcquireLease(ctx context.Context, name, holder, from string, ttl time.Duration, now time.Time) (bool, string, error) {
	var ok bool
	var current string
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
			WHERE leases.holder = excluded.holder OR leases.holder = ? OR leases.expires <= ?`,
			name, holder, now.Add(ttl).Unix(), from, now.Unix())
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		if !ok {
			return tx.QueryRow(`SELECT holder FROM leases WHERE name = ?`, name).Scan(&current)
		}
		current = holder
		return nil
	})
	if err != nil {
		return false, "", fmt.Errorf("store: lease %s: %w", name, err)
	}
	return ok, current, nil
}

// ReleaseLease gives up the named lease if holder has it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: release lease %s: %w", name, err)
	}
	return nil
}
