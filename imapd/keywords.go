package main

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Keywords must be announced in an untagged FLAGS (and PERMANENTFLAGS)
// before any FETCH names them (RFC 3501 7.2.6). The mailbox state keeps
// the keywords announced so far; the set only grows while the mailbox is
// open. A new one is queued as a FLAGS update to every session of the
// mailbox ahead of the update that uses it, and a command about to write
// FETCH responses itself first writes the FLAGS update queued for it.

// systemFlagList is the system flags every mailbox permits, in the order
// FLAGS lists them.
var systemFlagList = []imap.Flag{imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagSeen, imap.FlagDraft}

// addKeywordsLocked records the keywords among flags not announced yet
// and reports whether there were any. The caller holds m.mu.
func (m *mailboxState) addKeywordsLocked(flags []string) bool {
	added := false
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			continue
		}
		k := strings.ToLower(f)
		if m.kwSeen == nil {
			m.kwSeen = make(map[string]bool)
		}
		if !m.kwSeen[k] {
			m.kwSeen[k] = true
			m.keywords = append(m.keywords, imap.Flag(f))
			added = true
		}
	}
	return added
}

// flagsLocked is the mailbox's FLAGS: the system flags and every keyword
// announced. The caller holds m.mu.
func (m *mailboxState) flagsLocked() []imap.Flag {
	out := make([]imap.Flag, 0, len(systemFlagList)+len(m.keywords))
	return append(append(out, systemFlagList...), m.keywords...)
}

// announceLocked queues a FLAGS update for every session of the mailbox
// if flags hold keywords not announced yet. The caller holds m.mu.
func (m *mailboxState) announceLocked(flags []string) {
	if m.addKeywordsLocked(flags) {
		m.tracker.QueueMailboxFlags(m.flagsLocked())
	}
}

// announceKeywords makes sure the keywords among the flags of msgs have
// been announced to this session before the command writes FETCH
// responses with them.
func (s *session) announceKeywords(flagSets [][]string) error {
	m := s.sel.mbox
	m.mu.Lock()
	for _, f := range flagSets {
		m.announceLocked(f)
	}
	m.mu.Unlock()
	return s.sel.tracker.PollMailboxFlags(s.conn.UpdateWriter(false))
}
