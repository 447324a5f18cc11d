package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ClaimRecent takes the messages of a mailbox that no session has seen as
// recent yet (RFC 3501 2.3.2): those with a UID above the mailbox's
// recent_uid, up to its newest. It returns the claimed UID range
// (from, to]; from == to when there was nothing to claim. The claim is one
// write transaction, so of all sessions in all processes exactly one gets
// each message. With claim false (EXAMINE) it only reads the range. The
// claim is committed relaxed (writeLazy): a power failure may only make
// the newest messages recent again.
func (s *Store) ClaimRecent(ctx context.Context, mailboxID int64, claim bool) (from, to uint32, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT recent_uid, CASE WHEN recent_uid > uidnext - 1 THEN recent_uid ELSE uidnext - 1 END
		FROM mailboxes WHERE id = ?`,
		mailboxID).Scan(&from, &to)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return 0, 0, fmt.Errorf("store: recent in mailbox #%d: %w", mailboxID, err)
	}
	if !claim || to == from {
		return from, to, nil // only looking, or nothing to claim: no write
	}
	err = s.writeLazy(ctx, func(tx *sql.Tx) error {
		var next uint32
		err := tx.QueryRow(`SELECT recent_uid, uidnext FROM mailboxes WHERE id = ?`, mailboxID).Scan(&from, &next)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		to = from
		if next-1 <= from {
			return nil
		}
		to = next - 1
		_, err = tx.Exec(`UPDATE mailboxes SET recent_uid = ? WHERE id = ?`, to, mailboxID)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("store: claim recent in mailbox #%d: %w", mailboxID, err)
	}
	return from, to, nil
}

// RecentUnclaimed counts the messages of a mailbox no session has claimed
// as recent yet: what STATUS RECENT reports.
func (s *Store) RecentUnclaimed(ctx context.Context, mailboxID int64) (uint32, error) {
	var n uint32
	err := s.r.QueryRowContext(ctx, `SELECT count(m.id) FROM mailboxes b
		JOIN messages m ON m.mailbox_id = b.id AND m.uid > b.recent_uid
		WHERE b.id = ?`, mailboxID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: recent count of mailbox #%d: %w", mailboxID, err)
	}
	return n, nil
}
