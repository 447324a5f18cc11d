package main

import (
	"context"
	"fmt"

	"mailsuite/store"
)

// maildrop is the INBOX as a POP3 session sees it: a snapshot taken at
// login, numbered from 1, with deletion marks applied only at QUIT.
type maildrop struct {
	mailboxID   int64
	uidValidity uint32
	msgs        []store.POP3Message
	deleted     []bool
}

// loadMaildrop snapshots the user's INBOX.
func loadMaildrop(ctx context.Context, st *store.Store, userID int64) (*maildrop, error) {
	mb, err := st.MailboxByName(ctx, userID, "INBOX")
	if err != nil {
		return nil, fmt.Errorf("open INBOX: %w", err)
	}
	msgs, err := st.POP3Messages(ctx, mb.ID, crlfSize)
	if err != nil {
		return nil, fmt.Errorf("list INBOX: %w", err)
	}
	return &maildrop{
		mailboxID:   mb.ID,
		uidValidity: mb.UIDValidity,
		msgs:        msgs,
		deleted:     make([]bool, len(msgs)),
	}, nil
}

// stat returns the number and total size of the messages not marked
// deleted.
func (m *maildrop) stat() (n int, size int64) {
	for i, msg := range m.msgs {
		if !m.deleted[i] {
			n++
			size += msg.Size
		}
	}
	return n, size
}

// uidl is the message's unique id: UIDVALIDITY.UID, the same pair imapd
// uses, so it never changes and is never reused; or, for a message
// imported from another server, the id that server gave it, so clients
// that leave mail on the server do not fetch it again (mailctl import).
func (m *maildrop) uidl(i int) string {
	if u := m.msgs[i].UIDL; u != "" {
		return u
	}
	return fmt.Sprintf("%d.%d", m.uidValidity, m.msgs[i].UID)
}

// deletedUIDs lists the UIDs marked for deletion.
func (m *maildrop) deletedUIDs() []uint32 {
	var uids []uint32
	for i, d := range m.deleted {
		if d {
			uids = append(uids, m.msgs[i].UID)
		}
	}
	return uids
}

// reset clears every deletion mark (RSET).
func (m *maildrop) reset() {
	clear(m.deleted)
}
