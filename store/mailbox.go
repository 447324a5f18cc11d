package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Mailbox is one folder of a user.
type Mailbox struct {
	ID          int64
	UserID      int64
	Name        string // "INBOX" or a path with "/" as separator
	SpecialUse  string // e.g. `\Sent`, or ""
	UIDValidity uint32
	UIDNext     uint32
	Subscribed  bool
}

const mailboxCols = `id, user_id, name, special_use, uidvalidity, uidnext, subscribed`

func scanMailbox(sc interface{ Scan(...any) error }) (Mailbox, error) {
	var m Mailbox
	err := sc.Scan(&m.ID, &m.UserID, &m.Name, &m.SpecialUse, &m.UIDValidity, &m.UIDNext, &m.Subscribed)
	return m, err
}

// createMailboxTx creates a mailbox with a UIDVALIDITY never used before
// in this store.
func createMailboxTx(tx *sql.Tx, userID int64, name, specialUse string) (int64, error) {
	var uv int64
	if err := tx.QueryRow(`UPDATE meta SET value = value + 1 WHERE key = 'next_uidvalidity' RETURNING value - 1`).Scan(&uv); err != nil {
		return 0, fmt.Errorf("create mailbox %s: %w", name, err)
	}
	var id int64
	err := tx.QueryRow(`INSERT INTO mailboxes (user_id, name, special_use, uidvalidity) VALUES (?, ?, ?, ?) RETURNING id`,
		userID, name, specialUse, uint32(uv)).Scan(&id)
	if isUnique(err) {
		return 0, fmt.Errorf("create mailbox %s: %w", name, ErrExists)
	}
	if err != nil {
		return 0, fmt.Errorf("create mailbox %s: %w", name, err)
	}
	return id, nil
}

// CreateMailbox creates a mailbox for a user.
func (s *Store) CreateMailbox(ctx context.Context, userID int64, name, specialUse string) (Mailbox, error) {
	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if id, err = createMailboxTx(tx, userID, name, specialUse); err != nil {
			return err
		}
		return s.checkMailboxesTx(tx, userID)
	})
	if err != nil {
		return Mailbox{}, fmt.Errorf("store: %w", err)
	}
	return s.MailboxByID(ctx, id)
}

// Mailboxes lists a user's mailboxes by name.
func (s *Store) Mailboxes(ctx context.Context, userID int64) ([]Mailbox, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE user_id = ? ORDER BY name`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list mailboxes: %w", err)
	}
	defer rows.Close()
	var out []Mailbox
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list mailboxes: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MailboxByName finds a user's mailbox by exact name.
func (s *Store) MailboxByName(ctx context.Context, userID int64, name string) (Mailbox, error) {
	m, err := scanMailbox(s.r.QueryRowContext(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE user_id = ? AND name = ?`, userID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Mailbox{}, fmt.Errorf("store: mailbox %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return Mailbox{}, fmt.Errorf("store: mailbox %s: %w", name, err)
	}
	return m, nil
}

// MailboxByID finds a mailbox by id.
func (s *Store) MailboxByID(ctx context.Context, id int64) (Mailbox, error) {
	m, err := scanMailbox(s.r.QueryRowContext(ctx, `SELECT `+mailboxCols+` FROM mailboxes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Mailbox{}, fmt.Errorf("store: mailbox #%d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Mailbox{}, fmt.Errorf("store: mailbox #%d: %w", id, err)
	}
	return m, nil
}
