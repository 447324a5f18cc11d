package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"
)

// Envelope says where an accepted message goes.
type Envelope struct {
	From     string  // reverse path; "" is the null sender
	Local    []int64 // user IDs whose INBOX receives the message
	Remote   []string
	IsBounce bool // a DSN: never bounced itself
	// Junk delivers the local copies to each user's junk mailbox instead
	// of the INBOX (DMARC quarantine, see deliverJunkTx).
	Junk bool
	// LocalPrefix is prepended to the copies delivered to local INBOXes
	// only: the Return-Path header, which the final delivery adds and a
	// relayed copy must not carry.
	LocalPrefix []byte
	// Sending, when set, counts the message against the sending limits of
	// the account that relayed it (see sending.go), in the same commit.
	Sending *Sending
}

// Accept commits a message to every local recipient's INBOX and, for the
// remote recipients, to the outbound queue, in one transaction. When it
// returns nil the message is durable (synchronous=FULL): smtpd may say 250.
// When it returns an error nothing was written.
//
// Concurrent calls, and concurrent IMAP APPENDs, COPYs, MOVEs and
// EXPUNGEs (writeShared), are committed together (group commit, see
// commitLoop): one fsync for many, each still all-or-nothing on its own. New mail is never committed relaxed (see
// writeLazy, for flags only): TestNewMailSyncedBesideRelaxedFlags.
// If ctx ends before the commit, Accept returns its error and writes
// nothing; once the commit has begun, Accept waits for it.
func (s *Store) Accept(ctx context.Context, env Envelope, body []byte) error {
	if err := s.accept(ctx, &acceptReq{env: env, body: body}); err != nil {
		return fmt.Errorf("store: accept message from <%s>: %w", env.From, err)
	}
	return nil
}

// Spooled is a message body that waits for its commit in a file rather
// than in memory: Head, then the first Size bytes of File.
type Spooled struct {
	Head []byte // the trace headers smtpd adds
	File io.ReaderAt
	Size int64
}

// AcceptSpooled is Accept for a large body held in a file. The body is
// read into memory only by the committer, one message at a time, while
// it is inserted: however many sessions wait with large messages, the
// store holds one of them.
func (s *Store) AcceptSpooled(ctx context.Context, env Envelope, body Spooled) error {
	r := &acceptReq{env: env, spool: &body}
	if err := s.accept(ctx, r); err != nil {
		return fmt.Errorf("store: accept message from <%s>: %w", env.From, err)
	}
	return nil
}

func (s *Store) accept(ctx context.Context, r *acceptReq) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.ctx, r.now, r.done = ctx, s.unix(), make(chan error, 1)
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

// acceptReq is one Accept call, or one shared write (writeShared), handed
// to the committer.
type acceptReq struct {
	ctx    context.Context
	env    Envelope
	body   []byte
	spool  *Spooled            // instead of body, for AcceptSpooled
	fn     func(*sql.Tx) error // instead of env, for writeShared
	fnSize int                 // the bytes fn writes, for the batch limit
	now    int64
	done   chan error // buffered: the committer never blocks on an answer
}

// writeTx writes the request in the committer's transaction.
func (r *acceptReq) writeTx(tx *sql.Tx, pg bool) error {
	if r.fn != nil {
		return r.fn(tx)
	}
	local, remote, err := r.copies()
	if err != nil {
		return err
	}
	return deliverTx(tx, pg, r.env, local, remote, r.now)
}

// writeShared is write for a durable change that may share its commit,
// and so its fsync, with the deliveries and other shared writes waiting at
// the same time (commitLoop): APPEND, COPY, MOVE and EXPUNGE, which the
// sessions of a busy mailbox send together. It returns once the change is
// durable, as write does, and like write it waits for another process's
// lock no longer than ctx allows (runBatch). fn may run more than once (a batch that fails is
// run again request by request), so it must set its results afresh each
// time; it must not call the store's write functions. size is about the
// bytes fn writes.
func (s *Store) writeShared(ctx context.Context, size int, fn func(tx *sql.Tx) error) error {
	return s.accept(ctx, &acceptReq{fn: fn, fnSize: size})
}

func (r *acceptReq) size() int {
	if r.fn != nil {
		return r.fnSize
	}
	if r.spool != nil {
		return len(r.spool.Head) + int(r.spool.Size)
	}
	return len(r.body)
}

// copies returns the bodies for the local INBOXes (with env.LocalPrefix)
// and for the queue. A spooled body is read from its file here, into one
// buffer that serves both.
func (r *acceptReq) copies() (local, remote []byte, err error) {
	prefix := r.env.LocalPrefix
	if len(r.env.Local) == 0 {
		prefix = nil
	}
	if r.spool == nil {
		if len(prefix) == 0 {
			return r.body, r.body, nil
		}
		local = make([]byte, 0, len(prefix)+len(r.body))
		return append(append(local, prefix...), r.body...), r.body, nil
	}
	sp := r.spool
	buf := make([]byte, len(prefix)+len(sp.Head)+int(sp.Size))
	n := copy(buf, prefix)
	n += copy(buf[n:], sp.Head)
	if _, err := sp.File.ReadAt(buf[n:], 0); err != nil {
		return nil, nil, fmt.Errorf("read spooled body: %w", err)
	}
	return buf, buf[len(prefix):], nil
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
		batch, size := []*acceptReq{first}, first.size()
	gather:
		for len(batch) < maxBatch && size < maxBatchBytes {
			select {
			case r := <-s.accepts:
				batch = append(batch, r)
				size += r.size()
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
// busy database is retried; any other failure of a batch makes each
// request run alone, so only the one at fault fails.
func (s *Store) commitBatch(batch []*acceptReq) {
	for attempt := 0; ; attempt++ {
		batch = dropCancelled(batch)
		if len(batch) == 0 {
			return
		}
		err := s.runBatch(batch)
		switch {
		case errors.Is(err, errCancelled):
			continue
		case isBusy(err) && attempt < 5:
			if s.onRetry != nil {
				s.onRetry(err)
			}
			time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
			continue
		case err != nil && len(batch) > 1:
			for _, r := range batch {
				s.commitBatch([]*acceptReq{r})
			}
			return
		}
		for _, r := range batch {
			r.done <- err
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

// runBatch writes every request in one IMMEDIATE transaction and commits
// it; on any error nothing was written. Requests get no savepoints of
// their own, which would cost as much as their inserts: when one fails,
// commitBatch runs each request alone, so only the one at fault fails.
func (s *Store) runBatch(batch []*acceptReq) error {
	// Not a caller's ctx: the transaction is shared. The wait for another
	// process's lock ends with the earliest caller's deadline, so nobody
	// waits past their own; commitBatch retries the others.
	start := time.Now()
	ctx := context.Background()
	if d, ok := batchDeadline(batch); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d)
		defer cancel()
	}
	w, err := s.takeWriter(ctx)
	if err != nil {
		return err
	}
	defer w.release()
	tx, mode, err := s.beginBatch(ctx, w, batch)
	if err != nil {
		return err
	}
	for _, r := range batch {
		if err := r.writeTx(tx, s.postgres()); err != nil {
			tx.Rollback()
			return err
		}
	}
	for _, r := range batch {
		if r.ctx.Err() != nil {
			tx.Rollback()
			return errCancelled
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.committed(start)
	if mode == lockBesideDeliveries {
		s.notifyChanges()
	}
	return nil
}

// beginBatch begins a batch's transaction. On PostgreSQL a batch of plain
// deliveries commits beside other hosts' (lockBesideDeliveries), taking
// its recipients' INBOXes in order (orderDeliveries).
func (s *Store) beginBatch(ctx context.Context, w *writer, batch []*acceptReq) (*sql.Tx, lockMode, error) {
	mode := lockAlone
	if s.postgres() && !s.alone && plainDeliveries(batch) {
		mode = lockBesideDeliveries
	}
	tx, err := w.beginShared(ctx, mode)
	if err != nil {
		return nil, mode, err
	}
	if mode == lockBesideDeliveries && !orderDeliveries(batch) {
		if err := lockInboxesTx(tx, batch); err != nil {
			tx.Rollback()
			return nil, mode, err
		}
	}
	return tx, mode, nil
}

// plainDeliveries reports whether every request of the batch is a
// delivery to local INBOXes that writes new rows and its recipients'
// rows alone: not a shared IMAP write (fn), not to Junk (which may
// create the mailbox), not counted against a sender's limits (rows of
// the sender's), and not queued for remote recipients (with enqueues in
// parallel, TestTwoHostsQueueOnce saw a message relayed twice, for a
// reason not yet found). Such batches on PostgreSQL commit beside other
// hosts' (see lockBesideDeliveries).
func plainDeliveries(batch []*acceptReq) bool {
	for _, r := range batch {
		if r.fn != nil || r.env.Junk || r.env.Sending != nil || len(r.env.Remote) > 0 {
			return false
		}
	}
	return true
}

// batchDeadline is the earliest deadline of the batch's callers.
func batchDeadline(batch []*acceptReq) (time.Time, bool) {
	var first time.Time
	for _, r := range batch {
		if d, ok := r.ctx.Deadline(); ok && (first.IsZero() || d.Before(first)) {
			first = d
		}
	}
	return first, !first.IsZero()
}

// deliverTx writes one message to the local INBOXes (local: the body
// with env.LocalPrefix) and the queue (remote).
func deliverTx(tx *sql.Tx, pg bool, env Envelope, local, remote []byte, now int64) error {
	deliver := deliverInboxTx
	if pg {
		deliver = deliverInboxPostgresTx
	}
	if env.Junk {
		deliver = deliverJunkTx
	}
	for _, uid := range env.Local {
		if err := deliver(tx, uid, now, local); err != nil {
			return fmt.Errorf("deliver to user #%d: %w", uid, err)
		}
	}
	if len(env.Remote) > 0 {
		if err := enqueueTx(tx, env, remote, now); err != nil {
			return err
		}
	}
	if env.Sending != nil {
		if err := countSendingTx(tx, env.Sending, now); err != nil {
			return err
		}
	}
	if env.From == "" {
		return countBouncesTx(tx, env.Local, now)
	}
	return nil
}

// deliverInboxTx appends a message to a user's INBOX: one statement finds
// the INBOX and takes its next UID, a second inserts the message.
func deliverInboxTx(tx *sql.Tx, userID, date int64, body []byte) error {
	var mbox int64
	var uid uint32
	err := tx.QueryRow(`UPDATE mailboxes SET uidnext = uidnext + 1 WHERE user_id = ? AND name = 'INBOX'
		RETURNING id, uidnext - 1`, userID).Scan(&mbox, &uid)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("INBOX: %w", ErrNotFound)
	}
	if err != nil {
		return err
	}
	return insertAtTx(tx, mbox, uid, "", date, body)
}

func enqueueTx(tx *sql.Tx, env Envelope, body []byte, now int64) error {
	var qid int64
	err := tx.QueryRow(`INSERT INTO queue (sender, created, is_bounce, body) VALUES (?, ?, ?, ?) RETURNING id`,
		env.From, now, boolInt(env.IsBounce), body).Scan(&qid)
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	for _, r := range env.Remote {
		if _, err := tx.Exec(`INSERT INTO queue_rcpts (queue_id, rcpt, next_attempt) VALUES (?, ?, ?)`, qid, r, now); err != nil {
			return fmt.Errorf("enqueue to %s: %w", r, err)
		}
	}
	return nil
}
