package main

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailsuite/store"
)

// The watcher tails the store's change log, which SQL triggers write for
// every process (smtpd delivering, pop3d expunging, this imapd), and feeds
// each change to the MailboxTracker of the mailbox it concerns, if a
// session of this process has it selected. It is the only path by which a
// mailbox view learns of new, expunged or re-flagged messages, our own
// included, so nothing is announced twice.
const (
	pollInterval = 200 * time.Millisecond
	changeBatch  = 1000
	pruneEvery   = 10 * time.Minute
	changeMaxAge = time.Hour
)

// hub holds the mailboxes selected in this process and the watcher's
// position in the change log.
type hub struct {
	st  *store.Store
	log *slog.Logger

	syncMu sync.Mutex // serializes sync and the first load of a mailbox
	last   int64      // newest change applied; guarded by syncMu

	mu   sync.Mutex
	open map[int64]*mailboxState // guarded by mu
}

// mailboxState is the server's view of one selected mailbox, shared by all
// sessions of this process that selected it. Sessions see it through their
// own SessionTracker, which translates sequence numbers.
type mailboxState struct {
	id          int64
	uidValidity uint32
	tracker     *imapserver.MailboxTracker
	refs        int // guarded by hub.mu

	mu     sync.Mutex // guards the fields below and calls into tracker
	uids   []uint32   // ascending; index+1 is the server sequence number
	maxUID uint32     // highest UID ever known: UIDNEXT-1

	keywords []imap.Flag     // announced in FLAGS, in order (keywords.go)
	kwSeen   map[string]bool // keywords, lower case

	// recentChecked is the highest UID some session of this process has
	// tried to claim as recent: nothing at or below it is left to claim.
	recentChecked uint32

	// sessions maps each session's tracker to its selection, so a flag
	// update can show \Recent to the session it belongs to.
	sessions map[*imapserver.SessionTracker]*selected
}

func newHub(ctx context.Context, st *store.Store, log *slog.Logger) (*hub, error) {
	last, err := st.LastChange(ctx)
	if err != nil {
		return nil, err
	}
	return &hub{st: st, log: log, last: last, open: make(map[int64]*mailboxState)}, nil
}

// run polls the change log until ctx ends, and prunes old changes now and
// then.
func (h *hub) run(ctx context.Context) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := h.sync(ctx, nil); err != nil && ctx.Err() == nil {
			h.log.Error("watch changes", "err", err)
		}
		if time.Since(lastPrune) > pruneEvery {
			lastPrune = time.Now()
			if err := h.st.PruneChanges(ctx, changeMaxAge); err != nil && ctx.Err() == nil {
				h.log.Error("prune changes", "err", err)
			}
		}
	}
}

// acquire returns the shared state of a mailbox, loading it on first use.
// The load happens under syncMu so that no change slips between the
// snapshot and the state's registration; changes already in the snapshot
// and applied again are ignored (see apply).
func (h *hub) acquire(ctx context.Context, mb store.Mailbox) (*mailboxState, error) {
	h.syncMu.Lock()
	defer h.syncMu.Unlock()
	h.mu.Lock()
	if m := h.open[mb.ID]; m != nil {
		m.refs++
		h.mu.Unlock()
		return m, nil
	}
	h.mu.Unlock()
	uids, next, err := h.st.MailboxUIDs(ctx, mb.ID)
	if err != nil {
		return nil, err
	}
	m := &mailboxState{
		id:          mb.ID,
		uidValidity: mb.UIDValidity,
		tracker:     imapserver.NewMailboxTracker(uint32(len(uids))),
		uids:        uids,
		maxUID:      next - 1,
		refs:        1,
	}
	h.mu.Lock()
	h.open[mb.ID] = m
	h.mu.Unlock()
	return m, nil
}

// release drops a reference taken by acquire; the last one frees the state.
func (h *hub) release(m *mailboxState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m.refs--
	if m.refs == 0 && h.open[m.id] == m {
		delete(h.open, m.id)
	}
}

func (h *hub) lookup(id int64) *mailboxState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.open[id]
}

// sync applies every change committed so far. Flag changes are not sent to
// source, the session that made them and answers for them itself.
func (h *hub) sync(ctx context.Context, source *imapserver.SessionTracker) error {
	h.syncMu.Lock()
	defer h.syncMu.Unlock()
	for {
		changes, err := h.st.ChangesSince(ctx, h.last, changeBatch)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		if err := h.apply(ctx, changes, source); err != nil {
			return err
		}
		h.last = changes[len(changes)-1].Seq
		if len(changes) < changeBatch {
			return nil
		}
	}
}

// apply feeds a batch of changes to the open mailboxes. It is idempotent
// for changes already reflected in a snapshot: a new UID at or below
// maxUID, or an expunge of an unknown UID, is skipped.
func (h *hub) apply(ctx context.Context, changes []store.Change, source *imapserver.SessionTracker) error {
	flags, err := h.currentFlags(ctx, changes)
	if err != nil {
		return err
	}
	for _, c := range changes {
		m := h.lookup(c.MailboxID)
		if m == nil {
			continue
		}
		m.mu.Lock()
		switch c.Kind {
		case store.ChangeNew:
			if f, ok := flags[msgKey{c.MailboxID, c.UID}]; ok {
				m.announceLocked(f.store)
			}
			if c.UID > m.maxUID {
				m.maxUID = c.UID
				m.uids = append(m.uids, c.UID)
				m.tracker.QueueNumMessages(uint32(len(m.uids)))
			}
		case store.ChangeExpunge:
			if i, ok := slices.BinarySearch(m.uids, c.UID); ok {
				m.uids = slices.Delete(m.uids, i, i+1)
				m.tracker.QueueExpungeUID(uint32(i+1), imap.UID(c.UID))
			}
		case store.ChangeFlags:
			f, known := flags[msgKey{c.MailboxID, c.UID}]
			if i, ok := slices.BinarySearch(m.uids, c.UID); ok && known {
				m.announceLocked(f.store)
				m.queueFlagsLocked(uint32(i+1), c.UID, f.flags, f.modSeq, source)
			}
		}
		m.mu.Unlock()
	}
	return nil
}

// queueFlagsLocked queues a flag update for every session but source,
// with \Recent for the session that has the message as recent. The
// caller holds m.mu.
func (m *mailboxState) queueFlagsLocked(seq, uid uint32, flags []imap.Flag, modSeq uint64, source *imapserver.SessionTracker) {
	m.tracker.QueueMessageFlagsPerSession(seq, imap.UID(uid), func(st *imapserver.SessionTracker) []imap.Flag {
		if sel := m.sessions[st]; sel != nil {
			return sel.withRecent(uid, flags)
		}
		return flags
	}, modSeq, source)
}

type msgKey struct {
	mailbox int64
	uid     uint32
}

// msgFlags is a message's flags, as stored and for IMAP, and the
// mod-sequence they have since.
type msgFlags struct {
	store  []string
	flags  []imap.Flag
	modSeq uint64
}

// currentFlags reads the flags of the messages added or re-flagged in an
// open mailbox: the log says which message changed, not how. New
// keywords must be announced before the client can see them.
func (h *hub) currentFlags(ctx context.Context, changes []store.Change) (map[msgKey]msgFlags, error) {
	want := make(map[int64][]uint32)
	for _, c := range changes {
		if (c.Kind == store.ChangeFlags || c.Kind == store.ChangeNew) && h.lookup(c.MailboxID) != nil {
			want[c.MailboxID] = append(want[c.MailboxID], c.UID)
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	out := make(map[msgKey]msgFlags)
	for id, uids := range want {
		slices.Sort(uids)
		msgs, err := h.st.MessagesModSeq(ctx, id, slices.Compact(uids))
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			out[msgKey{id, m.UID}] = msgFlags{m.Flags, imapFlags(m.Flags), m.ModSeq}
		}
	}
	return out, nil
}
