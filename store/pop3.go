package store

import (
	"context"
	"database/sql"
	"fmt"
)

// POP3Message is a message as pop3d lists it.
type POP3Message struct {
	ID   int64
	UID  uint32
	Size int64  // octets as POP3 sends it (see POP3Messages)
	UIDL string // the unique id imported with the message, or ""
}

// POP3Messages lists a mailbox's messages in UID order with their POP3
// sizes. The size of a message as sent may differ from the stored size
// (a body with bare LF line ends is sent with CRLF), so sizeOf computes it
// from the body; the result is cached in pop3_sizes, so each body is read
// at most once for this, not at every login.
func (s *Store) POP3Messages(ctx context.Context, mailboxID int64, sizeOf func(body []byte) int64) ([]POP3Message, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT m.id, m.uid, p.size, coalesce(i.uidl, '') FROM messages m
		LEFT JOIN pop3_sizes p ON p.message_id = m.id
		LEFT JOIN imported_uidls i ON i.message_id = m.id
		WHERE m.mailbox_id = ? ORDER BY m.uid`, mailboxID)
	if err != nil {
		return nil, fmt.Errorf("store: pop3 list: %w", err)
	}
	var out []POP3Message
	var missing []int // indexes into out
	for rows.Next() {
		var m POP3Message
		var size sql.NullInt64
		if err := rows.Scan(&m.ID, &m.UID, &size, &m.UIDL); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: pop3 list: %w", err)
		}
		m.Size = size.Int64
		if !size.Valid {
			missing = append(missing, len(out))
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: pop3 list: %w", err)
	}
	if len(missing) == 0 {
		return out, nil
	}
	return s.fillPOP3Sizes(ctx, out, missing, sizeOf)
}

// fillPOP3Sizes computes and caches the sizes of out[missing]. A message
// expunged meanwhile is dropped from the list.
func (s *Store) fillPOP3Sizes(ctx context.Context, out []POP3Message, missing []int, sizeOf func([]byte) int64) ([]POP3Message, error) {
	gone := make(map[int64]bool)
	for _, i := range missing {
		var body []byte
		err := s.r.QueryRowContext(ctx, `SELECT body FROM messages WHERE id = ?`, out[i].ID).Scan(&body)
		if err == sql.ErrNoRows {
			gone[out[i].ID] = true
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: pop3 size of message #%d: %w", out[i].ID, err)
		}
		out[i].Size = sizeOf(body)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		for _, i := range missing {
			if gone[out[i].ID] {
				continue
			}
			// The message may have been expunged since it was read: insert
			// only while it exists, so no orphan row is left behind.
			_, err := tx.Exec(`INSERT INTO pop3_sizes (message_id, size)
				SELECT id, ? FROM messages WHERE id = ?
				ON CONFLICT (message_id) DO UPDATE SET size = excluded.size`, out[i].Size, out[i].ID)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: cache pop3 sizes: %w", err)
	}
	kept := out[:0]
	for _, m := range out {
		if !gone[m.ID] {
			kept = append(kept, m)
		}
	}
	return kept, nil
}

// POP3Body calls fn with the body of message m of mailboxID, or returns an
// error wrapping ErrNotFound when it has been expunged since m was listed.
// The body is the driver's buffer (sql.RawBytes), saving the copy Scan
// into []byte makes: it is valid only during fn, and fn must not block
// (no network writes), since the read holds one of the reader connections. The lookup goes by the primary key (ids are
// AUTOINCREMENT, never reused) and checks the mailbox and UID, so it
// finds exactly the message MessageBody would.
func (s *Store) POP3Body(ctx context.Context, mailboxID int64, m POP3Message, fn func(body []byte)) error {
	rows, err := s.r.QueryContext(ctx, `SELECT body FROM messages WHERE id = ? AND mailbox_id = ? AND uid = ?`,
		m.ID, mailboxID, m.UID)
	if err != nil {
		return fmt.Errorf("store: message %d/%d: %w", mailboxID, m.UID, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: message %d/%d: %w", mailboxID, m.UID, err)
		}
		return fmt.Errorf("store: message %d/%d: %w", mailboxID, m.UID, ErrNotFound)
	}
	var body sql.RawBytes
	if err := rows.Scan(&body); err != nil {
		return fmt.Errorf("store: message %d/%d: %w", mailboxID, m.UID, err)
	}
	fn(body)
	return rows.Close()
}
