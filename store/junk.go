package store

import (
	"database/sql"
	"errors"
	"fmt"
)

// junkName is the mailbox a quarantined message goes to when the user has
// none marked \Junk (RFC 6154): the name DefaultMailboxes gives it.
const junkName = "Junk"

// deliverJunkTx appends a message to a user's junk mailbox: the one
// marked \Junk, else the one named Junk, created (marked \Junk) when the
// user deleted it. Quarantined mail is never refused for want of it.
func deliverJunkTx(tx *sql.Tx, userID, date int64, body []byte) error {
	var mbox int64
	var uid uint32
	err := tx.QueryRow(`UPDATE mailboxes SET uidnext = uidnext + 1
		WHERE id = (SELECT id FROM mailboxes WHERE user_id = ? AND (special_use = '\Junk' OR name = ?)
			ORDER BY special_use = '\Junk' DESC, id LIMIT 1)
		RETURNING id, uidnext - 1`, userID, junkName).Scan(&mbox, &uid)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err = createMailboxTx(tx, userID, junkName, `\Junk`); err != nil {
			return fmt.Errorf("create %s: %w", junkName, err)
		}
		return deliverJunkTx(tx, userID, date, body)
	}
	if err != nil {
		return err
	}
	return insertAtTx(tx, mbox, uid, "", date, body)
}
