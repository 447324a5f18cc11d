package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Delivery is one message accepted by smtpd. Local mailboxes get
// LocalBody (which carries a Return-Path header); the outbound queue gets
// QueueBody (which must not: the final MTA adds its own).
type Delivery struct {
	Env       Envelope
	LocalBody []byte
	QueueBody []byte
}

// AcceptBatch commits several deliveries in one transaction, so that
// concurrent SMTP sessions share one fsync (group commit). Each delivery
// runs inside its own savepoint: one that fails is rolled back alone and
// its error returned at its index, the others still commit. When the
// commit itself fails, every delivery gets that error and nothing was
// written. errs[i] == nil means delivery i is durable.
func (s *Store) AcceptBatch(ctx context.Context, ds []Delivery) []error {
	errs := make([]error, len(ds))
	now := s.unix()
	err := s.write(ctx, func(tx *sql.Tx) error {
		for i := range errs {
			errs[i] = nil
		}
		for i, d := range ds {
			if _, err := tx.Exec(`SAVEPOINT delivery`); err != nil {
				return err
			}
			if err := acceptTx(tx, d, now); err != nil {
				errs[i] = fmt.Errorf("store: accept message from <%s>: %w", d.Env.From, err)
				if _, err := tx.Exec(`ROLLBACK TO delivery`); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(`RELEASE delivery`); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("store: accept batch: %w", err)
		}
	}
	return errs
}

func acceptTx(tx *sql.Tx, d Delivery, now int64) error {
	for _, uid := range d.Env.Local {
		var mbox int64
		if err := tx.QueryRow(`SELECT id FROM mailboxes WHERE user_id = ? AND name = 'INBOX'`, uid).Scan(&mbox); err != nil {
			return fmt.Errorf("INBOX of user #%d: %w", uid, err)
		}
		if _, err := insertMessageTx(tx, mbox, "", now, d.LocalBody); err != nil {
			return fmt.Errorf("deliver to user #%d: %w", uid, err)
		}
	}
	if len(d.Env.Remote) > 0 {
		return enqueueTx(tx, d.Env, d.QueueBody, now)
	}
	return nil
}
