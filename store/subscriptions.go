package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Subscribe sets the subscription of one of a user's names: the mailbox's
// subscribed column if it exists, else a row of subscriptions, so that a
// subscription outlives its mailbox (RFC 3501 6.3.6).
func (s *Store) Subscribe(ctx context.Context, userID int64, name string, on bool) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE mailboxes SET subscribed = ? WHERE user_id = ? AND name = ?`, boolInt(on), userID, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		if on {
			_, err = tx.Exec(`INSERT INTO subscriptions (user_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING`, userID, name)
		} else {
			_, err = tx.Exec(`DELETE FROM subscriptions WHERE user_id = ? AND name = ?`, userID, name)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: subscribe %s: %w", name, err)
	}
	return nil
}

// AdoptSubscription sets a mailbox just created by IMAP CREATE subscribed
// if its name was, and unsubscribed otherwise (CREATE does not subscribe).
func (s *Store) AdoptSubscription(ctx context.Context, userID int64, name string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`DELETE FROM subscriptions WHERE user_id = ? AND name = ?`, userID, name)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		_, err = tx.Exec(`UPDATE mailboxes SET subscribed = ? WHERE user_id = ? AND name = ?`, boolInt(n > 0), userID, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: subscription of new mailbox %s: %w", name, err)
	}
	return nil
}

// OrphanSubscriptions lists a user's subscribed names that are not
// mailboxes.
func (s *Store) OrphanSubscriptions(ctx context.Context, userID int64) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name FROM subscriptions WHERE user_id = ? ORDER BY name`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: subscriptions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("store: subscriptions: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
