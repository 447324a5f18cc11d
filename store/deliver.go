package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Envelope says where an accepted message goes.
type Envelope struct {
	From     string  // reverse path; "" is the null sender
	Local    []int64 // user IDs whose INBOX receives the message
	Remote   []string
	IsBounce bool // a DSN: never bounced itself
}

// Accept commits a message to every local recipient's INBOX and, for the
// remote recipients, to the outbound queue, in one transaction. When it
// returns nil the message is durable (synchronous=FULL): smtpd may say 250.
// When it returns an error nothing was written.
func (s *Store) Accept(ctx context.Context, env Envelope, body []byte) error {
	now := s.unix()
	err := s.write(ctx, func(tx *sql.Tx) error {
		for _, uid := range env.Local {
			var mbox int64
			if err := tx.QueryRow(`SELECT id FROM mailboxes WHERE user_id = ? AND name = 'INBOX'`, uid).Scan(&mbox); err != nil {
				return fmt.Errorf("INBOX of user #%d: %w", uid, err)
			}
			if _, err := insertMessageTx(tx, mbox, "", now, body); err != nil {
				return fmt.Errorf("deliver to user #%d: %w", uid, err)
			}
		}
		if len(env.Remote) > 0 {
			if err := enqueueTx(tx, env, body, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: accept message from <%s>: %w", env.From, err)
	}
	return nil
}

func enqueueTx(tx *sql.Tx, env Envelope, body []byte, now int64) error {
	res, err := tx.Exec(`INSERT INTO queue (sender, created, is_bounce, body) VALUES (?, ?, ?, ?)`,
		env.From, now, boolInt(env.IsBounce), body)
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	qid, _ := res.LastInsertId()
	for _, r := range env.Remote {
		if _, err := tx.Exec(`INSERT INTO queue_rcpts (queue_id, rcpt, next_attempt) VALUES (?, ?, ?)`, qid, r, now); err != nil {
			return fmt.Errorf("enqueue to %s: %w", r, err)
		}
	}
	return nil
}
