package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Envelope says where an accepted message goes.
type Envelope struct {
	From     string  // reverse path; "" is the null sender
	Local    []int64 // user IDs whose INBOX receives the message
	Remote   []string
	IsBounce bool // a DSN: never bounced itself
	// LocalPrefix is prepended to the copies delivered to local INBOXes
	// only: the Return-Path header, which the final delivery adds and a
	// relayed copy must not carry.
	LocalPrefix []byte
}

// Accept commits a message to every local recipient's INBOX and, for the
// remote recipients, to the outbound queue, in one transaction. When it
// returns nil the message is durable (synchronous=FULL): smtpd may say 250.
// When it returns an error nothing was written.
//
// Concurrent calls are committed together (group commit, see commitLoop):
// one fsync for many messages, each still all-or-nothing on its own.
// If ctx ends before the commit, Accept returns its error and writes
// nothing; once the commit has begun, Accept waits for it.
func (s *Store) Accept(ctx context.Context, env Envelope, body []byte) error {
	if err := s.accept(ctx, env, body); err != nil {
		return fmt.Errorf("store: accept message from <%s>: %w", env.From, err)
	}
	return nil
}

func (s *Store) accept(ctx context.Context, env Envelope, body []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &acceptReq{ctx: ctx, env: env, body: body, now: s.unix(), done: make(chan error, 1)}
	select {
	case s.accepts <- r:
	case <-s.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Wait even if ctx ends now: the committer drops a cancelled request
	// before the commit, and a committed one must be reported as such.
	return <-r.done
}

// acceptReq is one Accept call handed to the committer.
type acceptReq struct {
	ctx  context.Context
	env  Envelope
	body []byte
	now  int64
	done chan error // buffered: the committer never blocks on an answer
}

// A batch is as many waiting Accept calls as there are, within limits
// that bound the committer's memory and each caller's wait.
const (
	maxBatch      = 128
	maxBatchBytes = 32 << 20
)

// commitLoop is the Store's single committer. It takes the first waiting
// Accept call and every other one already waiting, and commits them in
// one transaction: callers that arrive during an fsync share the next.
// A lone caller is committed at once; nothing waits for a batch to fill.
func (s *Store) commitLoop() {
	defer s.committer.Done()
	for {
		var first *acceptReq
		select {
		case first = <-s.accepts:
		case <-s.quit:
			return
		}
		batch, size := []*acceptReq{first}, len(first.body)
	gather:
		for len(batch) < maxBatch && size < maxBatchBytes {
			select {
			case r := <-s.accepts:
				batch = append(batch, r)
				size += len(r.body)
			default:
				break gather
			}
		}
		if s.onBatch != nil {
			s.onBatch(len(batch))
		}
		s.commitBatch(batch)
	}
}

// errCancelled says a caller's ctx ended before the batch committed.
var errCancelled = errors.New("a caller cancelled")

// commitBatch commits batch and answers every caller. A cancelled caller
// is answered and dropped, and the rest are run again without it; a
// busy database is retried; any other failure of the whole transaction
// makes each request run alone, so only the one at fault fails.
func (s *Store) commitBatch(batch []*acceptReq) {
	for attempt := 0; ; attempt++ {
		batch = dropCancelled(batch)
		if len(batch) == 0 {
			return
		}
		errs, err := s.runBatch(batch)
		switch {
		case errors.Is(err, errCancelled):
			continue
		case isBusy(err) && attempt < 5:
			time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
			continue
		case err != nil && len(batch) > 1:
			for _, r := range batch {
				s.commitBatch([]*acceptReq{r})
			}
			return
		}
		for i, r := range batch {
			if err != nil {
				r.done <- err
			} else {
				r.done <- errs[i]
			}
		}
		return
	}
}

func dropCancelled(batch []*acceptReq) []*acceptReq {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		live = append(live, r)
	}
	return live
}

// runBatch runs each request under its own savepoint in one IMMEDIATE
// transaction and commits it. errs[i] is request i's own failure, which
// rolled back only its savepoint; err fails the whole batch, and then
// nothing was written.
func (s *Store) runBatch(batch []*acceptReq) (errs []error, err error) {
	// Not a caller's ctx: the transaction is shared.
	tx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		return nil, err
	}
	errs = make([]error, len(batch))
	for i, r := range batch {
		if errs[i], err = acceptOneTx(tx, r, len(batch) == 1); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	for _, r := range batch {
		if r.ctx.Err() != nil {
			tx.Rollback()
			return nil, errCancelled
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return errs, nil
}

// acceptOneTx writes one request under a savepoint. reqErr is the request's
// own failure (its savepoint rolled back); err means the transaction
// itself is broken. A request alone in its transaction needs no
// savepoint, which costs as much as its inserts: its failure is the
// transaction's, which then holds nothing else.
func acceptOneTx(tx *sql.Tx, r *acceptReq, alone bool) (reqErr, err error) {
	if alone {
		return nil, deliverTx(tx, r.env, r.body, r.now)
	}
	if _, err := tx.Exec(`SAVEPOINT accept`); err != nil {
		return nil, err
	}
	if reqErr = deliverTx(tx, r.env, r.body, r.now); reqErr != nil {
		if _, err := tx.Exec(`ROLLBACK TO accept`); err != nil {
			return nil, fmt.Errorf("%w (rollback: %v)", reqErr, err)
		}
	}
	if _, err := tx.Exec(`RELEASE accept`); err != nil {
		return nil, err
	}
	return reqErr, nil
}

// deliverTx writes one message to the local INBOXes and the queue.
func deliverTx(tx *sql.Tx, env Envelope, body []byte, now int64) error {
	local := body
	if len(env.LocalPrefix) > 0 && len(env.Local) > 0 {
		local = make([]byte, 0, len(env.LocalPrefix)+len(body))
		local = append(append(local, env.LocalPrefix...), body...)
	}
	for _, uid := range env.Local {
		var mbox int64
		if err := tx.QueryRow(`SELECT id FROM mailboxes WHERE user_id = ? AND name = 'INBOX'`, uid).Scan(&mbox); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				err = ErrNotFound
			}
			return fmt.Errorf("INBOX of user #%d: %w", uid, err)
		}
		if _, err := insertMessageTx(tx, mbox, "", now, local); err != nil {
			return fmt.Errorf("deliver to user #%d: %w", uid, err)
		}
	}
	if len(env.Remote) > 0 {
		if err := enqueueTx(tx, env, body, now); err != nil {
			return err
		}
	}
	return nil
}

func enqueueTx(tx *sql.Tx, env Envelope, body []byte, now int64) error {
	res, err := tx.Exec(`INSERT INTO queue (sender, created, is_bounce, body) VALUES (?, ?, ?, ?)`,
		env.From, now, boolInt(env.IsBounce), body)
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	qid, _ := res.LastInsertId()
	for _, r := range env.Remote {
		if _, err := tx.Exec(`INSERT INTO queue_rcpts (queue_id, rcpt, next_attempt) VALUES (?, ?, ?)`, qid, r, now); err != nil {
			return fmt.Errorf("enqueue to %s: %w", r, err)
		}
	}
	return nil
}
