package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file holds the mailbox and message operations imapd needs beyond
// the basics: flag updates, copy and move, mailbox delete and rename,
// subscriptions and status counts. Every write is one transaction, and the
// change-log triggers record what happened for the other processes.

// FlagOp says how StoreFlags combines the given flags with a message's.
type FlagOp int

// The flag operations of IMAP STORE.
const (
	FlagsSet FlagOp = iota // replace
	FlagsAdd               // union
	FlagsDel               // difference
)

// uidNext reads a mailbox's UIDNEXT inside tx, the snapshot the caller
// reads the mailbox's messages in; a missing mailbox is ErrNotFound.
func uidNext(ctx context.Context, tx *sql.Tx, mailboxID int64) (uint32, error) {
	var next uint32
	err := tx.QueryRowContext(ctx, `SELECT uidnext FROM mailboxes WHERE id = ?`, mailboxID).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: mailbox #%d: %w", mailboxID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("store: mailbox #%d UIDNEXT: %w", mailboxID, err)
	}
	return next, nil
}

// MailboxUIDs returns a consistent snapshot of a mailbox: its UIDs in
// ascending order and its UIDNEXT, read in one transaction.
func (s *Store) MailboxUIDs(ctx context.Context, mailboxID int64) ([]uint32, uint32, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("store: mailbox #%d uids: %w", mailboxID, err)
	}
	defer tx.Rollback()
	next, err := uidNext(ctx, tx, mailboxID)
	if err != nil {
		return nil, 0, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid`, mailboxID)
	if err != nil {
		return nil, 0, fmt.Errorf("store: mailbox #%d uids: %w", mailboxID, err)
	}
	defer rows.Close()
	var uids []uint32
	for rows.Next() {
		var u uint32
		if err := rows.Scan(&u); err != nil {
			return nil, 0, fmt.Errorf("store: mailbox #%d uids: %w", mailboxID, err)
		}
		uids = append(uids, u)
	}
	return uids, next, rows.Err()
}

// MessagesIn returns the metadata of the given UIDs of a mailbox (those
// that exist), in UID order. uids must be ascending.
func (s *Store) MessagesIn(ctx context.Context, mailboxID int64, uids []uint32) ([]Message, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+messageCols+` FROM messages
		WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid`, mailboxID, uids[0], uids[len(uids)-1])
	if err != nil {
		return nil, fmt.Errorf("store: messages of mailbox #%d: %w", mailboxID, err)
	}
	defer rows.Close()
	var out []Message
	i := 0
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("store: messages of mailbox #%d: %w", mailboxID, err)
		}
		for i < len(uids) && uids[i] < m.UID {
			i++
		}
		if i < len(uids) && uids[i] == m.UID {
			out = append(out, m)
		}
	}
	return out, rows.Err()
}

// StoreFlags changes the flags of the given UIDs in one transaction. Flags
// compare case-insensitively; the caller passes system flags in their
// canonical spelling (`\Seen`). Messages already gone are skipped; a message
// whose flags do not change is not written (so no change is logged).
// Flag changes are committed relaxed (see writeLazy): atomic and safe
// from a crash, fsynced with the next durable commit.
func (s *Store) StoreFlags(ctx context.Context, mailboxID int64, uids []uint32, op FlagOp, flags []string) error {
	_, _, err := s.storeFlags(ctx, mailboxID, uids, op, flags, false, 0)
	return err
}

// Flagged is a message's flags as a STORE left them, with their
// mod-sequence: that of the change, or the message's own if Changed is
// false.
type Flagged struct {
	UID     uint32
	Flags   []string
	ModSeq  uint64
	Changed bool
}

// StoreFlagsReport is StoreFlags that also returns, for each message
// still there, the flags it left and their mod-sequence, read in the
// writing transaction: what the STORE answers, so no second read can
// mix in a later change of another session.
func (s *Store) StoreFlagsReport(ctx context.Context, mailboxID int64, uids []uint32, op FlagOp, flags []string) ([]Flagged, error) {
	res, _, err := s.storeFlags(ctx, mailboxID, uids, op, flags, false, 0)
	return res, err
}

// storeFlags is StoreFlags and, with conditional, StoreFlagsUnchangedSince:
// a message whose mod-sequence is above unchangedSince is then left as it
// is and its UID returned among modified. The keyword limit, the test and
// the change of each message happen in one transaction, so no other
// writer slips between them.
func (s *Store) storeFlags(ctx context.Context, mailboxID int64, uids []uint32, op FlagOp, flags []string,
	conditional bool, unchangedSince uint64) (res []Flagged, modified []uint32, err error) {
	err = s.writeLazy(ctx, func(tx *sql.Tx) error {
		res, modified = res[:0], nil
		if op != FlagsDel {
			if err := s.checkKeywordsTx(tx, mailboxID, flags); err != nil {
				return err
			}
		}
		get, err := tx.Prepare(`SELECT m.flags, coalesce(q.modseq, 0) FROM messages m
			LEFT JOIN message_modseq q ON q.mailbox_id = m.mailbox_id AND q.uid = m.uid
			WHERE m.mailbox_id = ? AND m.uid = ?`)
		if err != nil {
			return err
		}
		defer get.Close()
		set, err := tx.Prepare(`UPDATE messages SET flags = ? WHERE mailbox_id = ? AND uid = ?`)
		if err != nil {
			return err
		}
		defer set.Close()
		for _, uid := range uids {
			var old string
			var modseq uint64
			err := get.QueryRow(mailboxID, uid).Scan(&old, &modseq)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if conditional && modseq > unchangedSince {
				modified = append(modified, uid)
				res = append(res, Flagged{UID: uid, Flags: splitFlags(old), ModSeq: modseq})
				continue
			}
			nw := joinFlags(applyFlags(splitFlags(old), op, flags))
			if nw == old {
				res = append(res, Flagged{UID: uid, Flags: splitFlags(old), ModSeq: modseq})
				continue
			}
			if _, err := set.Exec(nw, mailboxID, uid); err != nil {
				return err
			}
			// The trigger gave the change the mailbox's next mod-sequence.
			if err := tx.QueryRow(`SELECT highestmodseq FROM mailboxes WHERE id = ?`, mailboxID).Scan(&modseq); err != nil {
				return err
			}
			res = append(res, Flagged{UID: uid, Flags: splitFlags(nw), ModSeq: modseq, Changed: true})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: set flags in mailbox #%d: %w", mailboxID, err)
	}
	return res, modified, nil
}

// applyFlags combines cur with flags by op, keeping the first spelling of
// each flag and dropping case-insensitive duplicates.
func applyFlags(cur []string, op FlagOp, flags []string) []string {
	var out []string
	has := func(list []string, f string) bool {
		for _, g := range list {
			if strings.EqualFold(f, g) {
				return true
			}
		}
		return false
	}
	add := func(f string) {
		if f != "" && !has(out, f) {
			out = append(out, f)
		}
	}
	switch op {
	case FlagsSet:
		for _, f := range flags {
			add(f)
		}
	case FlagsAdd:
		for _, f := range cur {
			add(f)
		}
		for _, f := range flags {
			add(f)
		}
	case FlagsDel:
		for _, f := range cur {
			if !has(flags, f) {
				add(f)
			}
		}
	}
	return out
}

// CopyMessages copies the given UIDs of src to dst in one transaction and
// returns the source UIDs copied and the new UIDs in dst, pairwise (for
// COPYUID). UIDs no longer in src are skipped.
func (s *Store) CopyMessages(ctx context.Context, src int64, uids []uint32, dst int64) (from, to []uint32, err error) {
	err = s.writeShared(ctx, 0, func(tx *sql.Tx) error {
		var err error
		if from, to, err = copyTx(tx, src, uids, dst); err != nil {
			return err
		}
		return s.checkQuotaTx(tx, dst)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: copy from mailbox #%d to #%d: %w", src, dst, err)
	}
	return from, to, nil
}

// MoveMessages is CopyMessages followed by deleting the originals, in one
// transaction: a crash leaves the messages in exactly one of the two.
func (s *Store) MoveMessages(ctx context.Context, src int64, uids []uint32, dst int64) (from, to []uint32, err error) {
	err = s.writeShared(ctx, 0, func(tx *sql.Tx) error {
		var err error
		if from, to, err = copyTx(tx, src, uids, dst); err != nil {
			return err
		}
		return deleteUIDsTx(tx, src, from)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: move from mailbox #%d to #%d: %w", src, dst, err)
	}
	return from, to, nil
}

func copyTx(tx *sql.Tx, src int64, uids []uint32, dst int64) (from, to []uint32, err error) {
	ins, err := tx.Prepare(`INSERT INTO messages (mailbox_id, uid, flags, internal_date, size, body)
		SELECT ?, ?, flags, internal_date, size, body FROM messages WHERE mailbox_id = ? AND uid = ?`)
	if err != nil {
		return nil, nil, err
	}
	defer ins.Close()
	var next uint32
	if err := tx.QueryRow(`SELECT uidnext FROM mailboxes WHERE id = ?`, dst).Scan(&next); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil, fmt.Errorf("mailbox #%d: %w", dst, ErrNotFound)
		}
		return nil, nil, err
	}
	for _, uid := range uids {
		res, err := ins.Exec(dst, next, src, uid)
		if err != nil {
			return nil, nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		from = append(from, uid)
		to = append(to, next)
		next++
	}
	_, err = tx.Exec(`UPDATE mailboxes SET uidnext = ? WHERE id = ?`, next, dst)
	return from, to, err
}

func deleteUIDsTx(tx *sql.Tx, mailboxID int64, uids []uint32) error {
	del, err := tx.Prepare(`DELETE FROM messages WHERE mailbox_id = ? AND uid = ?`)
	if err != nil {
		return err
	}
	defer del.Close()
	for _, uid := range uids {
		if _, err := del.Exec(mailboxID, uid); err != nil {
			return err
		}
	}
	return nil
}

// DeleteMailbox deletes a mailbox and its messages. The messages' expunges
// and the mailbox's removal are logged for the other processes.
func (s *Store) DeleteMailbox(ctx context.Context, mailboxID int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM messages WHERE mailbox_id = ?`, mailboxID); err != nil {
			return err
		}
		res, err := tx.Exec(`DELETE FROM mailboxes WHERE id = ?`, mailboxID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete mailbox #%d: %w", mailboxID, err)
	}
	return nil
}

// RenameMailbox renames a user's mailbox and its children ("old/..."),
// keeping their ids, UIDVALIDITY and messages. Renaming INBOX follows RFC
// 3501: a new mailbox gets INBOX's messages (with new UIDs) and INBOX stays,
// empty; INBOX's children are not renamed. It fails with ErrNotFound if old
// does not exist and ErrExists if newName (or a renamed child) does.
func (s *Store) RenameMailbox(ctx context.Context, userID int64, old, newName string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRow(`SELECT id FROM mailboxes WHERE user_id = ? AND name = ?`, userID, old).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if old == "INBOX" {
			if err := renameInboxTx(tx, userID, id, newName); err != nil {
				return err
			}
			return s.checkMailboxesTx(tx, userID)
		}
		// substr counts characters in both SQLite and PostgreSQL.
		n := utf8.RuneCountInString(old) + 1
		_, err = tx.Exec(`UPDATE mailboxes SET name = ? || substr(name, ?)
			WHERE user_id = ? AND (name = ? OR substr(name, 1, ?) = ?)`,
			newName, n, userID, old, n, old+"/")
		if isUnique(err) {
			return ErrExists
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: rename mailbox %s to %s: %w", old, newName, err)
	}
	return nil
}

func renameInboxTx(tx *sql.Tx, userID, inbox int64, newName string) error {
	dst, err := createMailboxTx(tx, userID, newName, "")
	if err != nil {
		return err
	}
	rows, err := tx.Query(`SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid`, inbox)
	if err != nil {
		return err
	}
	var uids []uint32
	for rows.Next() {
		var u uint32
		if err := rows.Scan(&u); err != nil {
			rows.Close()
			return err
		}
		uids = append(uids, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	from, _, err := copyTx(tx, inbox, uids, dst)
	if err != nil {
		return err
	}
	return deleteUIDsTx(tx, inbox, from)
}

// SetSubscribed marks a mailbox subscribed or not.
func (s *Store) SetSubscribed(ctx context.Context, mailboxID int64, on bool) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE mailboxes SET subscribed = ? WHERE id = ?`, boolInt(on), mailboxID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: subscribe mailbox #%d: %w", mailboxID, err)
	}
	return nil
}

// MailboxStatus is what IMAP STATUS reports.
type MailboxStatus struct {
	Messages    uint32
	Unseen      uint32
	Deleted     uint32
	Size        int64
	UIDNext     uint32
	UIDValidity uint32
}

// Status counts a mailbox's messages in one query.
func (s *Store) Status(ctx context.Context, mailboxID int64) (MailboxStatus, error) {
	var st MailboxStatus
	err := s.r.QueryRowContext(ctx, `SELECT b.uidnext, b.uidvalidity, count(m.id),
			count(m.id) FILTER (WHERE instr(' ' || m.flags || ' ', ' \Seen ') = 0),
			count(m.id) FILTER (WHERE instr(' ' || m.flags || ' ', ' \Deleted ') > 0),
			coalesce(sum(m.size), 0)
		FROM mailboxes b LEFT JOIN messages m ON m.mailbox_id = b.id
		WHERE b.id = ? GROUP BY b.id`, mailboxID).
		Scan(&st.UIDNext, &st.UIDValidity, &st.Messages, &st.Unseen, &st.Deleted, &st.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("store: status of mailbox #%d: %w", mailboxID, ErrNotFound)
	}
	if err != nil {
		return st, fmt.Errorf("store: status of mailbox #%d: %w", mailboxID, err)
	}
	return st, nil
}
