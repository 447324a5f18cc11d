package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// This file holds the writes of mailctl import: mailboxes that keep the
// UIDVALIDITY and UIDs another server gave them, so that clients keep
// their caches and POP3 lists across a move.

// ImportMessage is one message to import under a UID chosen by the
// source server.
type ImportMessage struct {
	// UID is the source's UID; 0 takes the mailbox's next UID, and such a
	// message is skipped when its SHA-256 was imported into the mailbox
	// before (an mbox has no UIDs; a maildir file Dovecot had not listed).
	UID   uint32
	Flags []string
	Date  time.Time
	Body  []byte // CRLF line ends
	// Read, when set, gives Body: it is called only for a message that
	// is to be written, so a second import reads no file again. An error
	// skips the message (a damaged file) and is listed in the result.
	Read func() ([]byte, error)
	UIDL string // the POP3 unique id the old server served, or ""
}

// ImportMailbox says what to import into one mailbox.
type ImportMailbox struct {
	Name        string
	UIDValidity uint32 // 0: keep the mailbox's own (or a new one)
	UIDNext     uint32 // the source's UIDNEXT; UIDNEXT becomes at least this
	Subscribed  bool
	Messages    []ImportMessage
	// Progress, when set, is called after each message with the count
	// of messages handled so far.
	Progress func(done int)
}

// ImportResult counts what an import did.
type ImportResult struct {
	Added, Skipped int
	Damaged        []error // messages whose Read failed, not written
}

// ErrUIDValidity says a mailbox already holds mail under another
// UIDVALIDITY than the one imported: its UIDs cannot be kept.
var ErrUIDValidity = errors.New("mailbox holds mail under another UIDVALIDITY")

// Import writes one mailbox of a user in one transaction: the mailbox
// is created (or an empty one takes the imported UIDVALIDITY), and each
// message is inserted under its UID unless the UID is present or was
// expunged (a UID is never used twice), which makes importing twice add
// nothing, while a damaged file repaired since is imported by the next
// run. Quotas and
// limits do not apply: the operator moves mail that exists. Either the
// whole mailbox is written or, on error, nothing.
func (s *Store) Import(ctx context.Context, userID int64, in ImportMailbox) (ImportResult, error) {
	var res ImportResult
	err := s.write(ctx, func(tx *sql.Tx) error {
		res = ImportResult{}
		mbox, next, err := importTargetTx(tx, userID, in)
		if err != nil {
			return err
		}
		// Known UIDs in order, then the messages that take new ones.
		slices.SortStableFunc(in.Messages, func(a, b ImportMessage) int { return cmp.Compare(a.UID-1, b.UID-1) })
		for i, m := range in.Messages {
			if m.UID == 0 {
				next = max(next, in.UIDNext)
			}
			added, err := importMessageTx(tx, mbox, &next, m)
			var damaged *damagedError
			switch {
			case errors.As(err, &damaged):
				res.Damaged = append(res.Damaged, damaged.err)
			case err != nil:
				return fmt.Errorf("UID %d: %w", m.UID, err)
			case added:
				res.Added++
			default:
				res.Skipped++
			}
			if in.Progress != nil {
				in.Progress(i + 1)
			}
		}
		next = max(next, in.UIDNext)
		// Imported mail is not \Recent: the old server showed it already.
		_, err = tx.Exec(`UPDATE mailboxes SET uidnext = ?1,
			recent_uid = CASE WHEN recent_uid > ?2 THEN recent_uid ELSE ?2 END WHERE id = ?3`, next, next-1, mbox)
		return err
	})
	if err != nil {
		return ImportResult{}, fmt.Errorf("store: import mailbox %s: %w", in.Name, err)
	}
	return res, nil
}

// importTargetTx finds or creates the mailbox and returns it with its
// UIDNEXT. An existing mailbox without messages takes the imported
// UIDVALIDITY (the INBOX and special mailboxes every new user has).
func importTargetTx(tx *sql.Tx, userID int64, in ImportMailbox) (int64, uint32, error) {
	var id int64
	var uv, next uint32
	err := tx.QueryRow(`SELECT id, uidvalidity, uidnext FROM mailboxes WHERE user_id = ? AND name = ?`,
		userID, in.Name).Scan(&id, &uv, &next)
	if errors.Is(err, sql.ErrNoRows) {
		if id, err = createMailboxTx(tx, userID, in.Name, ""); err != nil {
			return 0, 0, err
		}
		if _, err := tx.Exec(`UPDATE mailboxes SET subscribed = ? WHERE id = ?`, boolInt(in.Subscribed), id); err != nil {
			return 0, 0, err
		}
		if _, err := tx.Exec(`DELETE FROM subscriptions WHERE user_id = ? AND name = ?`, userID, in.Name); err != nil {
			return 0, 0, err
		}
		uv, next = 0, 1
	} else if err != nil {
		return 0, 0, err
	}
	if in.UIDValidity == 0 || in.UIDValidity == uv {
		return id, next, nil
	}
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM messages WHERE mailbox_id = ?`, id).Scan(&n); err != nil {
		return 0, 0, err
	}
	if n > 0 || next > 1 {
		return 0, 0, fmt.Errorf("%w (%d, imported %d)", ErrUIDValidity, uv, in.UIDValidity)
	}
	_, err = tx.Exec(`UPDATE mailboxes SET uidvalidity = ? WHERE id = ?`, in.UIDValidity, id)
	return id, next, err
}

// importMessageTx inserts one message unless it was imported before, and
// advances *next past it.
func importMessageTx(tx *sql.Tx, mbox int64, next *uint32, m ImportMessage) (bool, error) {
	if m.UID != 0 {
		if known, err := knownUIDTx(tx, mbox, m.UID); known || err != nil {
			return false, err
		}
	}
	if m.Read != nil {
		var err error
		if m.Body, err = m.Read(); err != nil {
			return false, &damagedError{err}
		}
	}
	if m.UID == 0 {
		sum := sha256.Sum256(m.Body)
		res, err := tx.Exec(`INSERT INTO imported_digests (mailbox_id, digest) VALUES (?, ?) ON CONFLICT DO NOTHING`, mbox, sum[:])
		if err != nil {
			return false, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return false, nil
		}
	}
	uid := m.UID
	if uid == 0 {
		uid = *next
	}
	flags := joinFlags(m.Flags)
	if err := insertAtTx(tx, mbox, uid, flags, m.Date.Unix(), m.Body); err != nil {
		return false, err
	}
	*next = max(*next, uid+1)
	if err := recordKeywordsTx(tx, mbox, missing(keywords(m.Flags), nil)); err != nil {
		return false, err
	}
	if m.UIDL != "" {
		if _, err := tx.Exec(`INSERT INTO imported_uidls (message_id, uidl)
			SELECT id, ? FROM messages WHERE mailbox_id = ? AND uid = ?`, m.UIDL, mbox, uid); err != nil {
			return false, err
		}
	}
	return true, nil
}

// damagedError is a message's Read failure: the message is skipped, the
// import goes on.
type damagedError struct{ err error }

func (e *damagedError) Error() string { return e.err.Error() }

// knownUIDTx says whether a mailbox holds uid or held it and expunged it
// (vanished keeps every expunge, migration 0005).
func knownUIDTx(tx *sql.Tx, mbox int64, uid uint32) (bool, error) {
	var n int
	err := tx.QueryRow(`SELECT (SELECT count(*) FROM messages WHERE mailbox_id = ?1 AND uid = ?2)
		+ (SELECT count(*) FROM vanished WHERE mailbox_id = ?1 AND uid = ?2)`, mbox, uid).Scan(&n)
	return n > 0, err
}
