package store

import (
	"context"
	"database/sql"
	"fmt"
)

// MailboxView returns every message of a mailbox with its mod-sequence,
// in UID order, and the mailbox's next UID, read in one snapshot: what
// imapd loads when a session of it first selects the mailbox, and then
// keeps current from the change log.
func (s *Store) MailboxView(ctx context.Context, mailboxID int64) ([]Message, uint32, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("store: view of mailbox #%d: %w", mailboxID, err)
	}
	defer tx.Rollback()
	next, err := uidNext(ctx, tx, mailboxID)
	if err != nil {
		return nil, 0, err
	}
	msgs, err := collectModSeqMessages(tx.QueryContext(ctx, `SELECT `+modSeqCols+`
		FROM messages m JOIN message_modseq q ON q.mailbox_id = m.mailbox_id AND q.uid = m.uid
		WHERE m.mailbox_id = ? ORDER BY m.uid`, mailboxID))
	if err != nil {
		return nil, 0, fmt.Errorf("store: view of mailbox #%d: %w", mailboxID, err)
	}
	return msgs, next, nil
}
