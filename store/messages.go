package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Message is a message's metadata; the body is read separately.
type Message struct {
	ID           int64
	MailboxID    int64
	UID          uint32
	Flags        []string
	InternalDate time.Time
	Size         int64
	ModSeq       uint64 // set only by the reads of modseq.go
}

const messageCols = `id, mailbox_id, uid, flags, internal_date, size`

func scanMessage(sc interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var flags string
	var date int64
	err := sc.Scan(&m.ID, &m.MailboxID, &m.UID, &flags, &date, &m.Size)
	m.Flags = splitFlags(flags)
	m.InternalDate = time.Unix(date, 0)
	return m, err
}

func splitFlags(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

func joinFlags(f []string) string { return strings.Join(f, " ") }

// Messages lists a mailbox's messages in UID order.
func (s *Store) Messages(ctx context.Context, mailboxID int64) ([]Message, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+messageCols+` FROM messages WHERE mailbox_id = ? ORDER BY uid`, mailboxID)
	if err != nil {
		return nil, fmt.Errorf("store: list messages: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list messages: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MessageBody returns the raw message (CRLF line ends) by mailbox and UID.
func (s *Store) MessageBody(ctx context.Context, mailboxID int64, uid uint32) ([]byte, error) {
	var b []byte
	err := s.r.QueryRowContext(ctx, `SELECT body FROM messages WHERE mailbox_id = ? AND uid = ?`, mailboxID, uid).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: message %d/%d: %w", mailboxID, uid, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: message %d/%d: %w", mailboxID, uid, err)
	}
	return b, nil
}

// MessageWithBody returns a message's metadata and its raw text, read by
// one statement, so both come from the same snapshot: a message expunged
// meanwhile is ErrNotFound, never a row without its text.
func (s *Store) MessageWithBody(ctx context.Context, mailboxID int64, uid uint32) (Message, []byte, error) {
	var b []byte
	var m Message
	var flags string
	var date int64
	err := s.r.QueryRowContext(ctx, `SELECT `+messageCols+`, body FROM messages WHERE mailbox_id = ? AND uid = ?`,
		mailboxID, uid).Scan(&m.ID, &m.MailboxID, &m.UID, &flags, &date, &m.Size, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return m, nil, fmt.Errorf("store: message %d/%d: %w", mailboxID, uid, ErrNotFound)
	}
	if err != nil {
		return m, nil, fmt.Errorf("store: message %d/%d: %w", mailboxID, uid, err)
	}
	m.Flags = splitFlags(flags)
	m.InternalDate = time.Unix(date, 0)
	return m, b, nil
}

// Append adds a message to a mailbox and returns its UID. It is new mail
// and so durable when Append returns, as for Accept, whose commit it may
// share (writeShared).
func (s *Store) Append(ctx context.Context, mailboxID int64, flags []string, date time.Time, body []byte) (uint32, error) {
	var uid uint32
	err := s.writeShared(ctx, len(body), func(tx *sql.Tx) error {
		if err := s.checkKeywordsTx(tx, mailboxID, flags); err != nil {
			return err
		}
		var err error
		if uid, err = insertMessageTx(tx, mailboxID, joinFlags(flags), date.Unix(), body); err != nil {
			return err
		}
		return s.checkQuotaTx(tx, mailboxID)
	})
	if err != nil {
		return 0, fmt.Errorf("store: append to mailbox #%d: %w", mailboxID, err)
	}
	return uid, nil
}

// insertMessageTx takes the mailbox's next UID and inserts the message.
func insertMessageTx(tx *sql.Tx, mailboxID int64, flags string, date int64, body []byte) (uint32, error) {
	var uid uint32
	if err := tx.QueryRow(`UPDATE mailboxes SET uidnext = uidnext + 1 WHERE id = ? RETURNING uidnext - 1`, mailboxID).Scan(&uid); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("mailbox #%d: %w", mailboxID, ErrNotFound)
		}
		return 0, err
	}
	return uid, insertAtTx(tx, mailboxID, uid, flags, date, body)
}

// insertAtTx inserts a message under a UID already taken from the
// mailbox's UIDNEXT.
func insertAtTx(tx *sql.Tx, mailboxID int64, uid uint32, flags string, date int64, body []byte) error {
	_, err := tx.Exec(`INSERT INTO messages (mailbox_id, uid, flags, internal_date, size, body) VALUES (?, ?, ?, ?, ?, ?)`,
		mailboxID, uid, flags, date, len(body), body)
	return err
}

// Expunge deletes the given UIDs from a mailbox in one transaction: all
// of them or none. UIDs already gone are ignored.
func (s *Store) Expunge(ctx context.Context, mailboxID int64, uids []uint32) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		st, err := tx.Prepare(`DELETE FROM messages WHERE mailbox_id = ? AND uid = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, uid := range uids {
			if _, err := st.Exec(mailboxID, uid); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: expunge from mailbox #%d: %w", mailboxID, err)
	}
	return nil
}

// ExpungeDeleted deletes those of the given UIDs that carry \Deleted
// when its write transaction runs, so a concurrent STORE -FLAGS
// (\Deleted) that committed first keeps its message. The caller passes
// the candidates, those it knows to have the flag (imapd's view of the
// mailbox), so that no EXPUNGE reads every row of the mailbox, and one
// with nothing to do takes no write lock. It returns the UIDs deleted.
func (s *Store) ExpungeDeleted(ctx context.Context, mailboxID int64, uids []uint32) ([]uint32, error) {
	if len(uids) == 0 {
		return nil, nil
	}
	var err error
	var gone []uint32
	err = s.writeShared(ctx, 0, func(tx *sql.Tx) error {
		gone = gone[:0]
		st, err := tx.Prepare(`DELETE FROM messages WHERE mailbox_id = ? AND uid = ?
			AND instr(' ' || flags || ' ', ' \Deleted ') > 0`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, uid := range uids {
			res, err := st.Exec(mailboxID, uid)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				gone = append(gone, uid)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: expunge from mailbox #%d: %w", mailboxID, err)
	}
	return gone, nil
}
