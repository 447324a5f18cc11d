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
// in one store transaction, so two sessions never both get a message,
// whatever process they run in. A session claims when it selects the
// mailbox and when it learns of new messages at the end of a command; a
// session in IDLE is told of new messages at once, before any other, so
// the watcher claims them for it before it queues their EXISTS
// (claimForIdler). EXAMINE claims nothing but shows the unclaimed
// messages as recent, as Dovecot does.

// recentState is a session's share of \Recent in its selected mailbox.
type recentState struct {
	// uids are claimed by (or shown to, after EXAMINE) this session,
	// guarded by mbox.mu: the session and the watcher (for a session in
	// IDLE) add to it.
	uids   imap.UIDSet
	idling bool   // in IDLE; guarded by mbox.mu
	told   uint32 // the count last reported in a RECENT response
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

// claimForIdler claims the mailbox's new messages for a read-write
// session of it that is in IDLE, if there is one: it gets their EXISTS
// first. The watcher calls it before it queues the EXISTS.
func (h *hub) claimForIdler(ctx context.Context, m *mailboxState) error {
	m.mu.Lock()
	var idler *selected
	for _, sel := range m.sessions {
		if sel.recent.idling && !sel.readOnly {
			idler = sel
			break
		}
	}
	m.mu.Unlock()
	if idler == nil {
		return nil
	}
	from, to, err := h.st.ClaimRecent(ctx, m.id, true)
	if err != nil {
		return err
	}
	m.mu.Lock()
	if to > from {
		idler.recent.uids.AddRange(imap.UID(from+1), imap.UID(to))
	}
	if to > m.recentChecked {
		m.recentChecked = to
	}
	m.mu.Unlock()
	return nil
}

// setIdling marks the session as in IDLE or not.
func (sel *selected) setIdling(on bool) {
	sel.mbox.mu.Lock()
	sel.recent.idling = on
	sel.mbox.mu.Unlock()
}

func (sel *selected) isRecent(uid uint32) bool {
	sel.mbox.mu.Lock()
	defer sel.mbox.mu.Unlock()
	return sel.isRecentLocked(uid)
}

func (sel *selected) isRecentLocked(uid uint32) bool {
	return sel.recent.uids.Contains(imap.UID(uid))
}

// recentCount counts this session's recent messages among those the
// client has been told exist.
func (sel *selected) recentCount() uint32 {
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
	sel.mbox.mu.Lock()
	defer sel.mbox.mu.Unlock()
	return sel.withRecentLocked(uid, flags)
}

// withRecentLocked is withRecent for a caller holding mbox.mu.
func (sel *selected) withRecentLocked(uid uint32, flags []imap.Flag) []imap.Flag {
	if !sel.isRecentLocked(uid) {
		return flags
	}
	return append(flags[:len(flags):len(flags)], flagRecent)
}

// flagRecent is IMAP4rev1's \Recent, which go-imap no longer names.
const flagRecent = imap.Flag(`\Recent`)
