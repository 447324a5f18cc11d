package main

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
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
// included, so nothing is announced twice by the watcher; a command that
// answers for its own change drops the update it made stale.
//
// The store says when to look (WaitChange): at once after a notification
// from PostgreSQL, whichever host wrote the change, or at each poll on
// SQLite.
const (
	pruneEvery   = 10 * time.Minute
	changeMaxAge = time.Hour
)

// hub holds the mailboxes selected in this process and the watcher's
// position in the change log.
type hub struct {
	st  *store.Store
	log *slog.Logger

	syncMu  sync.Mutex         // serializes sync and the first load of a mailbox
	cur     store.ChangeCursor // the changes applied; guarded by syncMu
	syncs   atomic.Int64       // syncs begun; written under syncMu
	syncErr error              // the last sync's error; guarded by syncMu

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
	meta   []msgMeta  // of uids[i], as the last sync read it (view_meta.go)
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
	cur, err := st.StartChanges(ctx)
	if err != nil {
		return nil, err
	}
	return &hub{st: st, log: log, cur: cur, open: make(map[int64]*mailboxState)}, nil
}

// run tails the change log until ctx ends, and prunes old changes now and
// then.
func (h *hub) run(ctx context.Context) {
	lastPrune := time.Time{}
	for {
		h.syncMu.Lock()
		cur := h.cur.Clone()
		h.syncMu.Unlock()
		if h.st.WaitChange(ctx, cur) != nil {
			return
		}
		if err := h.sync(ctx); err != nil && ctx.Err() == nil {
			h.log.Error("watch changes", "err", err)
			// The log says there is news that cannot be read: wait a
			// poll before trying again rather than spin.
			t := time.NewTimer(store.ChangePoll)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
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
	msgs, next, err := h.st.MailboxView(ctx, mb.ID)
	if err != nil {
		return nil, err
	}
	m := &mailboxState{
		id:          mb.ID,
		uidValidity: mb.UIDValidity,
		tracker:     imapserver.NewMailboxTracker(uint32(len(msgs))),
		uids:        make([]uint32, len(msgs)),
		meta:        make([]msgMeta, len(msgs)),
		maxUID:      next - 1,
		refs:        1,
	}
	for i := range msgs {
		m.uids[i], m.meta[i] = msgs[i].UID, metaOf(&msgs[i])
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

// sync applies every change committed so far. Every session of a
// mailbox is told each change, its author too: a command that answers
// for a change itself drops the update afterwards (see dropReported),
// which is safe whichever of it and the watcher applied the change first.
//
// Callers that wait while a sync runs share the next one: a sync begun
// after a caller arrived has read every change committed before, so the
// callers queued behind it return with its result instead of each
// reading the log again (every command ends with a sync, see Poll).
func (h *hub) sync(ctx context.Context) error {
	arrived := h.syncs.Load()
	h.syncMu.Lock()
	defer h.syncMu.Unlock()
	if h.syncs.Load() > arrived {
		return h.syncErr // one begun since we arrived has finished
	}
	h.syncs.Add(1)
	h.syncErr = h.syncLocked(ctx)
	return h.syncErr
}

func (h *hub) syncLocked(ctx context.Context) error {
	changes, msgs, err := h.st.ChangesWithFlags(ctx, &h.cur, func(id int64) bool { return h.lookup(id) != nil })
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		return nil
	}
	h.claimForIdlers(ctx, changes)
	h.apply(changes, msgs)
	return nil
}

// claimForIdlers claims the new messages of the batch as recent for a
// session in IDLE, in each open mailbox that has one (see claimForIdler),
// before apply queues their EXISTS.
func (h *hub) claimForIdlers(ctx context.Context, changes []store.Change) {
	done := make(map[int64]bool)
	for _, c := range changes {
		if c.Kind != store.ChangeNew || done[c.MailboxID] {
			continue
		}
		m := h.lookup(c.MailboxID)
		if m == nil {
			continue
		}
		m.mu.Lock()
		fresh := c.UID > m.maxUID && c.UID > m.recentChecked
		m.mu.Unlock()
		if !fresh {
			continue
		}
		done[c.MailboxID] = true
		if err := h.claimForIdler(ctx, m); err != nil {
			h.log.Error("claim recent", "mailbox", m.id, "err", err)
		}
	}
}

// apply feeds a batch of changes to the open mailboxes, with the flags
// the batch left (read in its snapshot). It is idempotent for changes
// already reflected in a snapshot: a new UID at or below maxUID, or an
// expunge of an unknown UID, is skipped. A message re-flagged several
// times in the batch gets one update, at its last change: its flags are
// read once, so more would repeat the same state.
func (h *hub) apply(changes []store.Change, msgs []store.Message) {
	flags := make(map[msgKey]msgFlags, len(msgs))
	for i, m := range msgs {
		flags[msgKey{m.MailboxID, m.UID}] = msgFlags{m.Flags, imapFlags(m.Flags), m.ModSeq, &msgs[i]}
	}
	lastFlags := make(map[msgKey]int)
	for i, c := range changes {
		if c.Kind == store.ChangeFlags {
			lastFlags[msgKey{c.MailboxID, c.UID}] = i
		}
	}
	for i, c := range changes {
		m := h.lookup(c.MailboxID)
		if m == nil {
			continue
		}
		key := msgKey{c.MailboxID, c.UID}
		m.mu.Lock()
		switch c.Kind {
		case store.ChangeNew:
			f, ok := flags[key]
			if ok {
				m.announceLocked(f.store)
			}
			if c.UID > m.maxUID {
				m.maxUID = c.UID
				m.uids = append(m.uids, c.UID)
				var meta msgMeta // gone already: expunged later in this batch
				if ok {
					meta = metaOf(f.msg)
				}
				m.meta = append(m.meta, meta)
				m.tracker.QueueNumMessages(uint32(len(m.uids)))
			}
		case store.ChangeExpunge:
			if i, ok := slices.BinarySearch(m.uids, c.UID); ok {
				m.uids = slices.Delete(m.uids, i, i+1)
				m.meta = slices.Delete(m.meta, i, i+1)
				m.tracker.QueueExpungeUID(uint32(i+1), imap.UID(c.UID))
			}
		case store.ChangeFlags:
			f, known := flags[key]
			if lastFlags[key] != i || !known {
				break
			}
			if j, ok := slices.BinarySearch(m.uids, c.UID); ok {
				m.announceLocked(f.store)
				m.meta[j].flags, m.meta[j].modSeq = f.store, f.modSeq
				m.queueFlagsLocked(uint32(j+1), c.UID, f.flags, f.modSeq)
			}
		}
		m.mu.Unlock()
	}
}

// queueFlagsLocked queues a flag update for every session, with \Recent
// for the session that has the message as recent. The caller holds m.mu.
func (m *mailboxState) queueFlagsLocked(seq, uid uint32, flags []imap.Flag, modSeq uint64) {
	m.tracker.QueueMessageFlagsPerSession(seq, imap.UID(uid), func(st *imapserver.SessionTracker) []imap.Flag {
		if sel := m.sessions[st]; sel != nil {
			return sel.withRecentLocked(uid, flags)
		}
		return flags
	}, modSeq, nil)
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
	msg    *store.Message // the whole row, for the view's metadata
}
