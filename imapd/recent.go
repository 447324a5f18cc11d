package main

import (
	"context"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// \Recent (RFC 3501 2.3.2): a message is recent in exactly one session,
// the first read-write session to see it. The store keeps, per mailbox,
// the highest UID already claimed; a session claims what lies above it
// when it selects the mailbox and when it learns of new messages (at the
// end of a command), in one store transaction, so two sessions never both
// get a message, whatever process they run in. EXAMINE claims nothing but
// shows the unclaimed messages as recent, as Dovecot does.

// recentState is a session's share of \Recent in its selected mailbox.
type recentState struct {
	// uids are claimed by (or shown to, after EXAMINE) this session. The
	// session's goroutine alone writes it, under mbox.mu, which other
	// goroutines hold to read it.
	uids imap.UIDSet
	told uint32 // the count last reported in a RECENT response
}

// claimRecent takes the mailbox's unclaimed messages for this session
// (only shows them, after EXAMINE).
func (s *session) claimRecent(ctx context.Context, sel *selected) error {
	from, to, err := s.srv.st.ClaimRecent(ctx, sel.mbox.id, !sel.readOnly)
	if err != nil {
		return err
	}
	m := sel.mbox
	m.mu.Lock() // flag updates read sel.recent under it (queueFlagsLocked)
	if to > from {
		sel.recent.uids.AddRange(imap.UID(from+1), imap.UID(to))
	}
	if !sel.readOnly && to > m.recentChecked {
		m.recentChecked = to
	}
	m.mu.Unlock()
	return nil
}

// claimNew claims the messages that arrived since this process last
// claimed, unless the session is read-only or nothing is new.
func (s *session) claimNew(ctx context.Context, sel *selected) error {
	if sel.readOnly {
		return nil
	}
	m := sel.mbox
	m.mu.Lock()
	need := m.maxUID > m.recentChecked
	if need {
		m.recentChecked = m.maxUID // the other sessions here need not try
	}
	m.mu.Unlock()
	if !need {
		return nil
	}
	return s.claimRecent(ctx, sel)
}

func (sel *selected) isRecent(uid uint32) bool {
	return sel.recent.uids.Contains(imap.UID(uid))
}

// recentCount counts this session's recent messages among those the
// client has been told exist.
func (sel *selected) recentCount() uint32 {
	if len(sel.recent.uids) == 0 {
		return 0
	}
	m := sel.mbox
	m.mu.Lock()
	defer m.mu.Unlock()
	var n uint32
	for _, r := range sel.recent.uids {
		i, _ := slices.BinarySearch(m.uids, uint32(r.Start))
		for ; i < len(m.uids) && m.uids[i] <= uint32(r.Stop); i++ {
			if sel.tracker.EncodeSeqNum(uint32(i+1)) != 0 {
				n++
			}
		}
	}
	return n
}

// reportRecent writes a RECENT response when the count changed since the
// last one, as Dovecot does.
func (sel *selected) reportRecent(w *imapserver.UpdateWriter) error {
	n := sel.recentCount()
	if n == sel.recent.told {
		return nil
	}
	sel.recent.told = n
	return w.WriteNumRecent(n)
}

// withRecent adds \Recent to a message's flags if it is recent here.
func (sel *selected) withRecent(uid uint32, flags []imap.Flag) []imap.Flag {
	if !sel.isRecent(uid) {
		return flags
	}
	return append(flags[:len(flags):len(flags)], flagRecent)
}

// flagRecent is IMAP4rev1's \Recent, which go-imap no longer names.
const flagRecent = imap.Flag(`\Recent`)
