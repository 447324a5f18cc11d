package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ChangeKind says what happened to a mailbox.
type ChangeKind string

// The kinds of change in the log.
const (
	ChangeNew     ChangeKind = "new"     // a message was added (UID)
	ChangeExpunge ChangeKind = "expunge" // a message was removed (UID)
	ChangeFlags   ChangeKind = "flags"   // a message's flags changed (UID)
	ChangeMailbox ChangeKind = "mailbox" // the mailbox was deleted
)

// Change is one entry of the change log. Triggers write it, so every
// process's writes appear; those of one mailbox in commit order (see
// ChangeCursor for the log as a whole).
type Change struct {
	Seq       int64
	MailboxID int64
	Kind      ChangeKind
	UID       uint32
}

// LastChange returns the newest change's sequence number (0 if none).
// On PostgreSQL a change numbered lower may still commit later (see
// ChangeCursor); a watcher starts from StartChanges instead.
func (s *Store) LastChange(ctx context.Context) (int64, error) {
	var seq sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT max(seq) FROM changes`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("store: last change: %w", err)
	}
	return seq.Int64, nil
}

// ChangeCursor is a watcher's place in the change log: every change up
// to Last has been read, but for the gaps.
//
// On SQLite one transaction writes at a time, so changes commit in the
// order of their numbers and there are no gaps. On PostgreSQL deliveries
// commit in parallel (see runBatch), so a change numbered lower may
// commit after one numbered higher has been read: the numbers below Last
// not seen yet are kept as gaps and asked for again at each read, until
// no transaction that could still write them is running.
//
// That is told by transaction IDs. A number is taken inside a
// transaction that already has its ID (the triggers write the change
// after the row it describes, and a shared transaction takes its ID
// first), and before the higher number that was read had committed, so
// before the snapshot that missed it: below an ID the reader takes for
// itself after that snapshot (the gap's bound). A later snapshot whose
// xmin, its oldest running transaction, has reached the bound shows
// every transaction below the bound ended, and so the gap filled or gone
// for good. (A snapshot's xmax cannot serve as the bound: it is one past
// the newest ended transaction, and older IDs may still be running.)
type ChangeCursor struct {
	Last int64
	gaps map[int64]int64 // missed number -> its bound
}

// maxChangeGaps bounds a cursor's gaps: a transaction that holds the
// snapshot's xmin back for long (an operator's open transaction on the
// same cluster) keeps every rolled-back delivery's numbers as gaps, and
// each one is asked for at every read. Past the bound the oldest are
// dropped; a change so late is not worth an unbounded watcher.
const maxChangeGaps = 4096

// Clone returns a copy of c that later reads through c leave alone.
func (c ChangeCursor) Clone() ChangeCursor {
	c.gaps = maps.Clone(c.gaps)
	return c
}

// Gaps returns how many numbers below Last the cursor still waits for.
func (c *ChangeCursor) Gaps() int { return len(c.gaps) }

// StartChanges returns a cursor at the newest change, from which a
// watcher tails the log. On PostgreSQL it reads under the store's write
// lock, so that no delivery is running with a lower number yet to commit.
func (s *Store) StartChanges(ctx context.Context) (ChangeCursor, error) {
	if !s.postgres() {
		last, err := s.LastChange(ctx)
		return ChangeCursor{Last: last}, err
	}
	var seq sql.NullInt64
	err := s.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT max(seq) FROM changes`).Scan(&seq)
	})
	if err != nil {
		return ChangeCursor{}, fmt.Errorf("store: last change: %w", err)
	}
	return ChangeCursor{Last: seq.Int64}, nil
}

// missed reports whether a read of changes skips numbers after Last:
// then the reader takes a bound for them (see ChangeCursor).
func (c *ChangeCursor) missed(changes []Change) bool {
	n, top := int64(0), c.Last
	for _, ch := range changes {
		if ch.Seq > c.Last {
			n++
			top = max(top, ch.Seq)
		}
	}
	return top-c.Last > n
}

// advance records a read of the log: changes (those after Last and those
// filling gaps), in a snapshot whose oldest running transaction was
// xmin, and with bound, a transaction ID the reader took after that
// snapshot. On SQLite both are 0: nothing runs beside a reader, and a
// missed number is gone for good.
func (c *ChangeCursor) advance(changes []Change, xmin, bound int64) {
	seen := make(map[int64]bool, len(changes))
	next := c.Last
	for _, ch := range changes {
		seen[ch.Seq] = true
		delete(c.gaps, ch.Seq)
		next = max(next, ch.Seq)
	}
	for seq, b := range c.gaps {
		if xmin >= b {
			delete(c.gaps, seq)
		}
	}
	if bound > 0 {
		for seq := max(c.Last+1, next-maxChangeGaps); seq < next; seq++ {
			if !seen[seq] {
				if c.gaps == nil {
					c.gaps = make(map[int64]int64)
				}
				c.gaps[seq] = bound
			}
		}
		if extra := len(c.gaps) - maxChangeGaps; extra > 0 {
			for _, seq := range slices.Sorted(maps.Keys(c.gaps))[:extra] {
				delete(c.gaps, seq)
			}
		}
	}
	c.Last = next
}

// gapList is the gaps as a PostgreSQL array literal.
func (c *ChangeCursor) gapList() string {
	list := make([]string, 0, len(c.gaps))
	for seq := range c.gaps {
		list = append(list, strconv.FormatInt(seq, 10))
	}
	return "{" + strings.Join(list, ",") + "}"
}

// ChangesSince returns up to limit changes with seq > since, oldest first.
func (s *Store) ChangesSince(ctx context.Context, since int64, limit int) ([]Change, error) {
	out, err := changesSince(ctx, s.r, since, limit)
	if err != nil {
		return nil, fmt.Errorf("store: changes since %d: %w", since, err)
	}
	return out, nil
}

// ChangesWithFlags returns every change after cur, oldest first, and
// advances cur past them; with them, the flags and mod-sequences of the
// messages added or re-flagged in the mailboxes want accepts, read in the
// same snapshot: the flags are those after the last change returned, and
// none later. A watcher that applies each batch so never sees a message's
// state before the change that made it, and so never reports one state
// twice. A change that fills a gap (see ChangeCursor) comes after changes
// numbered higher, but never after a later change of its own mailbox:
// the writes to one mailbox commit one at a time.
func (s *Store) ChangesWithFlags(ctx context.Context, cur *ChangeCursor, want func(mailboxID int64) bool) ([]Change, []Message, error) {
	// Most polls find nothing new: one statement tells, without the
	// snapshot's BEGIN and ROLLBACK.
	if first, err := changesAfter(ctx, s.r, cur, 1); err != nil || len(first) == 0 {
		if err != nil {
			return nil, nil, fmt.Errorf("store: changes since %d: %w", cur.Last, err)
		}
		return nil, nil, nil
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, fmt.Errorf("store: changes since %d: %w", cur.Last, err)
	}
	defer tx.Rollback()
	var xmin, bound int64
	if s.postgres() {
		// The transaction's first statement fixes its snapshot.
		err := tx.QueryRowContext(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`).Scan(&xmin)
		if err != nil {
			return nil, nil, fmt.Errorf("store: changes since %d: snapshot: %w", cur.Last, err)
		}
	}
	changes, err := changesAfter(ctx, tx, cur, -1)
	if err != nil {
		return nil, nil, fmt.Errorf("store: changes since %d: %w", cur.Last, err)
	}
	if s.postgres() && cur.missed(changes) {
		// After the snapshot, as the bound must be (see ChangeCursor).
		if err := tx.QueryRowContext(ctx, `SELECT pg_current_xact_id()::text::bigint`).Scan(&bound); err != nil {
			return nil, nil, fmt.Errorf("store: changes since %d: bound: %w", cur.Last, err)
		}
	}
	uids := make(map[int64][]uint32)
	for _, c := range changes {
		if (c.Kind == ChangeFlags || c.Kind == ChangeNew) && want(c.MailboxID) {
			uids[c.MailboxID] = append(uids[c.MailboxID], c.UID)
		}
	}
	var msgs []Message
	for id, list := range uids {
		slices.Sort(list)
		m, err := modSeqMessagesOf(ctx, tx, id, slices.Compact(list))
		if err != nil {
			return nil, nil, fmt.Errorf("store: messages of mailbox #%d: %w", id, err)
		}
		msgs = append(msgs, m...)
	}
	cur.advance(changes, xmin, bound)
	return changes, msgs, nil
}

// changesAfter reads up to limit changes (-1: all) after cur: those after
// its Last and those filling its gaps.
func changesAfter(ctx context.Context, q querier, cur *ChangeCursor, limit int) ([]Change, error) {
	if len(cur.gaps) == 0 {
		return changesSince(ctx, q, cur.Last, limit)
	}
	query, args := `SELECT seq, mailbox_id, kind, uid FROM changes WHERE seq > ? OR seq = ANY(?::bigint[]) ORDER BY seq`,
		[]any{cur.Last, cur.gapList()}
	if limit >= 0 {
		query, args = query+` LIMIT ?`, append(args, limit)
	}
	return scanChanges(q.QueryContext(ctx, query, args...))
}

// changesSince reads up to limit changes (-1: all) with seq > since.
func changesSince(ctx context.Context, q querier, since int64, limit int) ([]Change, error) {
	query, args := `SELECT seq, mailbox_id, kind, uid FROM changes WHERE seq > ? ORDER BY seq`, []any{since}
	if limit >= 0 { // PostgreSQL refuses SQLite's LIMIT -1
		query, args = query+` LIMIT ?`, append(args, limit)
	}
	return scanChanges(q.QueryContext(ctx, query, args...))
}

func scanChanges(rows *sql.Rows, err error) ([]Change, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		if err := rows.Scan(&c.Seq, &c.MailboxID, &c.Kind, &c.UID); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PruneChanges deletes changes older than age; watchers keep up within
// seconds, so an hour of history is plenty.
func (s *Store) PruneChanges(ctx context.Context, age time.Duration) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`DELETE FROM changes WHERE at < ?`, s.now().Add(-age).Unix())
		if err != nil {
			return fmt.Errorf("store: prune changes: %w", err)
		}
		return nil
	})
}

// modSeqMessagesOf is messagesModSeq for the UIDs of a batch of changes,
// which lie anywhere in the mailbox (a flag change of an old message, a
// new one at the end): it reads their rows only, by key, not every row
// between the lowest and the highest. The IN lists have a few fixed
// lengths (the last UID repeated), so that their statements stay in each
// connection's cache of prepared statements.
func modSeqMessagesOf(ctx context.Context, q querier, mailboxID int64, uids []uint32) ([]Message, error) {
	const chunk = 64
	var out []Message
	for len(uids) > 0 {
		n := min(len(uids), chunk)
		size := 1
		for size < n {
			size *= 2
		}
		args := make([]any, 0, size+1)
		args = append(args, mailboxID)
		for i := range size {
			args = append(args, uids[min(i, n-1)])
		}
		msgs, err := collectModSeqMessages(q.QueryContext(ctx, `SELECT `+modSeqCols+`
			FROM messages m JOIN message_modseq q ON q.mailbox_id = m.mailbox_id AND q.uid = m.uid
			WHERE m.mailbox_id = ? AND m.uid IN (?`+strings.Repeat(", ?", size-1)+`) ORDER BY m.uid`, args...))
		if err != nil {
			return nil, err
		}
		out = append(out, msgs...)
		uids = uids[n:]
	}
	return out, nil
}
