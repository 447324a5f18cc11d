package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// This file holds the reads and writes of CONDSTORE and QRESYNC (RFC
// 7162). The mod-sequences themselves are kept by the triggers of
// migration 0005: every insert, flag change and expunge of a message takes
// the next value of its mailbox's counter in the writer's transaction.

// HighestModSeq returns a mailbox's highest mod-sequence: that of its
// latest change, or 1 if it never changed.
func (s *Store) HighestModSeq(ctx context.Context, mailboxID int64) (uint64, error) {
	var h uint64
	err := s.r.QueryRowContext(ctx, `SELECT highestmodseq FROM mailboxes WHERE id = ?`, mailboxID).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: mailbox #%d: %w", mailboxID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("store: highest modseq of mailbox #%d: %w", mailboxID, err)
	}
	return h, nil
}

const modSeqCols = `m.id, m.mailbox_id, m.uid, m.flags, m.internal_date, m.size, q.modseq`

func scanModSeqMessage(rows *sql.Rows) (Message, error) {
	var m Message
	var flags string
	var date int64
	err := rows.Scan(&m.ID, &m.MailboxID, &m.UID, &flags, &date, &m.Size, &m.ModSeq)
	m.Flags = splitFlags(flags)
	m.InternalDate = time.Unix(date, 0)
	return m, err
}

func collectModSeqMessages(rows *sql.Rows, err error) ([]Message, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanModSeqMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ChangedSince returns the messages of a mailbox whose mod-sequence is
// above modseq, with it, in UID order. It reads only those messages (the
// index on (mailbox_id, modseq)), so a resync costs what changed.
func (s *Store) ChangedSince(ctx context.Context, mailboxID int64, modseq uint64) ([]Message, error) {
	out, err := collectModSeqMessages(s.r.QueryContext(ctx, `SELECT `+modSeqCols+`
		FROM message_modseq q JOIN messages m ON m.mailbox_id = q.mailbox_id AND m.uid = q.uid
		WHERE q.mailbox_id = ? AND q.modseq > ? ORDER BY q.uid`, mailboxID, int64(modseq)))
	if err != nil {
		return nil, fmt.Errorf("store: changes of mailbox #%d since modseq %d: %w", mailboxID, modseq, err)
	}
	return out, nil
}

// MessagesModSeq is MessagesIn with each message's mod-sequence, read in
// the same statement as its flags so that the two agree.
func (s *Store) MessagesModSeq(ctx context.Context, mailboxID int64, uids []uint32) ([]Message, error) {
	return messagesModSeq(ctx, s.r, mailboxID, uids)
}

func messagesModSeq(ctx context.Context, q querier, mailboxID int64, uids []uint32) ([]Message, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	all, err := collectModSeqMessages(q.QueryContext(ctx, `SELECT `+modSeqCols+`
		FROM messages m JOIN message_modseq q ON q.mailbox_id = m.mailbox_id AND q.uid = m.uid
		WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid`, mailboxID, uids[0], uids[len(uids)-1]))
	if err != nil {
		return nil, fmt.Errorf("store: messages of mailbox #%d: %w", mailboxID, err)
	}
	out := all[:0]
	i := 0
	for _, m := range all {
		for i < len(uids) && uids[i] < m.UID {
			i++
		}
		if i < len(uids) && uids[i] == m.UID {
			out = append(out, m)
		}
	}
	return out, nil
}

// VanishedSince returns the UIDs expunged from a mailbox after modseq, in
// ascending order (for QRESYNC's VANISHED (EARLIER)).
func (s *Store) VanishedSince(ctx context.Context, mailboxID int64, modseq uint64) ([]uint32, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT uid FROM vanished WHERE mailbox_id = ? AND modseq > ? ORDER BY uid`,
		mailboxID, int64(modseq))
	if err != nil {
		return nil, fmt.Errorf("store: vanished from mailbox #%d: %w", mailboxID, err)
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var u uint32
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("store: vanished from mailbox #%d: %w", mailboxID, err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// StoreFlagsUnchangedSince is StoreFlags for STORE (UNCHANGEDSINCE m): a
// message whose mod-sequence is above unchangedSince is left as it is and
// its UID returned among modified.
func (s *Store) StoreFlagsUnchangedSince(ctx context.Context, mailboxID int64, uids []uint32, op FlagOp, flags []string, unchangedSince uint64) (modified []uint32, err error) {
	_, modified, err = s.storeFlags(ctx, mailboxID, uids, op, flags, true, unchangedSince)
	return modified, err
}

// StoreFlagsUnchangedSinceReport is StoreFlagsUnchangedSince that also
// returns the flags each message has after it, as StoreFlagsReport does
// (a modified message with its own, newer, flags).
func (s *Store) StoreFlagsUnchangedSinceReport(ctx context.Context, mailboxID int64, uids []uint32, op FlagOp, flags []string, unchangedSince uint64) ([]Flagged, []uint32, error) {
	return s.storeFlags(ctx, mailboxID, uids, op, flags, true, unchangedSince)
}
