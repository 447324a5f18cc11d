package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
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
// process's writes appear, in commit order.
type Change struct {
	Seq       int64
	MailboxID int64
	Kind      ChangeKind
	UID       uint32
}

// LastChange returns the newest change's sequence number (0 if none), the
// point from which a new watcher starts tailing.
func (s *Store) LastChange(ctx context.Context) (int64, error) {
	var seq sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT max(seq) FROM changes`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("store: last change: %w", err)
	}
	return seq.Int64, nil
}

// ChangesSince returns up to limit changes with seq > since, oldest first.
func (s *Store) ChangesSince(ctx context.Context, since int64, limit int) ([]Change, error) {
	out, err := changesSince(ctx, s.r, since, limit)
	if err != nil {
		return nil, fmt.Errorf("store: changes since %d: %w", since, err)
	}
	return out, nil
}

// ChangesWithFlags returns every change with seq > since, oldest first,
// and the flags and mod-sequences of the messages added or re-flagged in
// the mailboxes want accepts, read in the same snapshot: the flags are
// those after the last change returned, and none later. A watcher that
// applies each batch so never sees a message's state before the change
// that made it, and so never reports one state twice.
func (s *Store) ChangesWithFlags(ctx context.Context, since int64, want func(mailboxID int64) bool) ([]Change, []Message, error) {
	// Most polls find nothing new: one statement tells, without the
	// snapshot's BEGIN and ROLLBACK.
	if first, err := changesSince(ctx, s.r, since, 1); err != nil || len(first) == 0 {
		if err != nil {
			return nil, nil, fmt.Errorf("store: changes since %d: %w", since, err)
		}
		return nil, nil, nil
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, fmt.Errorf("store: changes since %d: %w", since, err)
	}
	defer tx.Rollback()
	changes, err := changesSince(ctx, tx, since, -1)
	if err != nil {
		return nil, nil, fmt.Errorf("store: changes since %d: %w", since, err)
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
	return changes, msgs, nil
}

// changesSince reads up to limit changes (-1: all) with seq > since.
func changesSince(ctx context.Context, q querier, since int64, limit int) ([]Change, error) {
	query, args := `SELECT seq, mailbox_id, kind, uid FROM changes WHERE seq > ? ORDER BY seq`, []any{since}
	if limit >= 0 { // PostgreSQL refuses SQLite's LIMIT -1
		query, args = query+` LIMIT ?`, append(args, limit)
	}
	rows, err := q.QueryContext(ctx, query, args...)
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
