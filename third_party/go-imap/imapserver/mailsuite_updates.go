package imapserver

import "github.com/emersion/go-imap/v2"

// mailsuite: this file adds what imapd needs to announce mailbox state in
// the middle of a command, in the order IMAP requires.

// UpdateWriter returns a writer for untagged updates within the command
// being handled, e.g. a FLAGS response naming a new keyword before the
// FETCH responses of a STORE use it. EXPUNGE is allowed only if
// allowExpunge.
func (c *Conn) UpdateWriter(allowExpunge bool) *UpdateWriter {
	return &UpdateWriter{conn: c, allowExpunge: allowExpunge}
}

// PollMailboxFlags takes the FLAGS updates out of the session's queue and
// writes the newest, ahead of the rest of the queue. A command that is
// about to write FETCH responses calls it, so that a keyword is announced
// before the first FETCH naming it even when EXPUNGE responses (which the
// command may not send yet) are queued before the FLAGS update. Sending
// the mailbox flags early is harmless: the set only grows.
func (t *SessionTracker) PollMailboxFlags(w *UpdateWriter) error {
	t.mutex.Lock()
	var latest *trackerUpdate
	kept := t.queue[:0]
	for i := range t.queue {
		if t.queue[i].mailboxFlags != nil {
			u := t.queue[i]
			latest = &u
			continue
		}
		kept = append(kept, t.queue[i])
	}
	t.queue = kept
	t.mutex.Unlock()
	if latest == nil {
		return nil
	}
	return w.WriteMailboxFlags(latest.mailboxFlags)
}

// LSub reports whether the writer answers LSUB, which go-imap hands to
// Session.List as LIST (SUBSCRIBED): the two differ in the attributes
// they report (RFC 3501 6.3.9, RFC 5258 3).
func (w *ListWriter) LSub() bool {
	return w.lsub
}

// QueueMessageFlagsPerSession queues a FETCH FLAGS update whose flags may
// differ by session, as IMAP4rev1's \Recent belongs to one session only:
// flagsFor gives each session's flags. It is called with the tracker's
// lock held, for every session but source. modSeq is as for
// QueueMessageFlagsModSeq.
func (t *MailboxTracker) QueueMessageFlagsPerSession(seqNum uint32, uid imap.UID, flagsFor func(*SessionTracker) []imap.Flag, modSeq uint64, source *SessionTracker) {
	t.mutex.Lock()
	defer t.mutex.Unlock()
	for st := range t.sessions {
		if st == source {
			continue
		}
		st.queueUpdate(&trackerUpdate{fetch: &trackerUpdateFetch{seqNum: seqNum, uid: uid, flags: flagsFor(st), modSeq: modSeq}})
	}
}

// DropMessageFlags takes out of the session's queue the FETCH FLAGS
// updates for which drop returns true. A command that writes a message's
// flags itself (STORE, a FETCH setting \Seen) drops the queued updates its
// answer makes stale, so the client is told each change once and never
// an older state after a newer one.
func (t *SessionTracker) DropMessageFlags(drop func(uid imap.UID, modSeq uint64) bool) {
	t.mutex.Lock()
	defer t.mutex.Unlock()
	kept := t.queue[:0]
	for _, u := range t.queue {
		if u.fetch != nil && drop(u.fetch.uid, u.fetch.modSeq) {
			continue
		}
		kept = append(kept, u)
	}
	for i := len(kept); i < len(t.queue); i++ {
		t.queue[i] = trackerUpdate{}
	}
	t.queue = kept
}

// IdleThen is Idle that calls after each time it wrote updates, so the
// session can add its own (RECENT).
func (t *SessionTracker) IdleThen(w *UpdateWriter, stop <-chan struct{}, after func(*UpdateWriter) error) error {
	t.idleAfter = after
	defer func() { t.idleAfter = nil }()
	return t.Idle(w, stop)
}
