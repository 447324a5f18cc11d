package main

import (
	"context"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailsuite/store"
)

// CONDSTORE and QRESYNC (RFC 7162): the store keeps a mod-sequence per
// message change and per mailbox, and tombstones of expunges; this file
// answers the commands that read them. A resync costs what changed: FETCH
// (CHANGEDSINCE m) and SELECT (QRESYNC ...) read the changed messages from
// the store's (mailbox, modseq) index and look each up in the view,
// instead of walking the mailbox.

var _ imapserver.SessionCondStore = (*session)(nil)

// highestModSeq reads a mailbox's HIGHESTMODSEQ; on a store error it logs
// and returns 0, which leaves the response code out.
func (s *session) highestModSeq(ctx context.Context, mailboxID int64) uint64 {
	h, err := s.srv.st.HighestModSeq(ctx, mailboxID)
	if err != nil {
		s.srv.log.Error("highest modseq", "user", s.login, "err", err)
		return 0
	}
	return h
}

// HighestModSeq is the selected mailbox's HIGHESTMODSEQ, for a client that
// enables CONDSTORE with a mailbox selected.
func (s *session) HighestModSeq() uint64 {
	if s.sel == nil {
		return 0
	}
	ctx, cancel := s.ctx()
	defer cancel()
	return s.highestModSeq(ctx, s.sel.mbox.id)
}

// Resync answers SELECT/EXAMINE (QRESYNC (uidvalidity modseq [known-uids]
// ...)): VANISHED (EARLIER) for the known UIDs expunged since modseq, then
// FETCH (UID FLAGS MODSEQ) for the messages changed since. A UIDVALIDITY
// other than the mailbox's gets neither: the client must resync in full.
// The tombstones are never pruned, so seq-match-data is not needed.
func (s *session) Resync(w *imapserver.FetchWriter, q *imap.SelectQResync) error {
	sel := s.sel
	if q.UIDValidity != sel.mbox.uidValidity {
		return nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	var known imap.UIDSet
	if q.KnownUIDs != nil {
		known = staticUIDSet(q.KnownUIDs, sel.maxUID())
	}
	if err := s.writeVanishedSince(ctx, w, q.ModSeq, known); err != nil {
		return err
	}
	changed, err := s.srv.st.ChangedSince(ctx, sel.mbox.id, q.ModSeq)
	if err != nil {
		return s.internalError("resync", err)
	}
	var set imap.NumSet = imap.UIDSet{{Start: 1, Stop: 0}}
	if known != nil {
		set = known
	}
	for _, it := range sel.resolveAmong(set, changed) {
		rw := w.CreateMessage(it.seq)
		rw.WriteUID(imap.UID(it.msg.UID))
		rw.WriteFlags(imapFlags(it.msg.Flags))
		rw.WriteModSeq(it.msg.ModSeq)
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// writeVanishedSince writes VANISHED (EARLIER) with the UIDs expunged
// after modseq, limited to within when it is not nil.
func (s *session) writeVanishedSince(ctx context.Context, w *imapserver.FetchWriter, modseq uint64, within imap.UIDSet) error {
	gone, err := s.srv.st.VanishedSince(ctx, s.sel.mbox.id, modseq)
	if err != nil {
		return s.internalError("vanished", err)
	}
	var set imap.UIDSet
	for _, u := range gone {
		if within == nil || within.Contains(imap.UID(u)) {
			set.AddNum(imap.UID(u))
		}
	}
	return w.WriteVanished(set, true)
}

// fetchModSeq is FETCH with MODSEQ: asked for, implied by CHANGEDSINCE,
// or, once CONDSTORE is enabled, by a fetch that may set \Seen (RFC 7162
// section 3.1: a FETCH response caused by a flag change carries UID and
// MODSEQ). With CHANGEDSINCE
// only the changed messages are read and resolved, so the answer costs
// what changed, not the size of the set.
func (s *session) fetchModSeq(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	options.ModSeq = true
	ctx, cancel := s.ctx()
	defer cancel()
	sel := s.sel
	if options.Vanished {
		// Only UID FETCH gets here (imapserver checks), so numSet is a UIDSet.
		set := numSet.(imap.UIDSet)
		if imap.IsSearchRes(set) {
			set = sel.searchRes
		}
		within := staticUIDSet(set, sel.maxUID())
		if err := s.writeVanishedSince(ctx, w, options.ChangedSince, within); err != nil {
			return err
		}
	}
	items, err := s.modSeqItems(ctx, numSet, options.ChangedSince)
	if err != nil {
		return s.internalError("fetch", err)
	}
	msgs := make([]store.Message, len(items))
	for i, it := range items {
		msgs[i] = it.msg
	}
	forceFlags := false
	if markSeen(options) && !sel.readOnly && len(items) > 0 {
		if forceFlags, err = s.markSeen(msgs); err != nil {
			return err
		}
		for i := range items { // with the flags and mod-sequences \Seen left
			items[i].msg = msgs[i]
		}
	}
	if options.Flags || forceFlags {
		s.dropTold(ctx, toldFlags(msgs), false)
		if err := s.announceKeywords(flagSets(msgs)); err != nil {
			return err
		}
	}
	for _, it := range items {
		msg := it.msg
		text, err := s.fetchText(&msg, options)
		if err != nil {
			return err
		}
		if err := s.fetchOne(w.CreateMessage(it.seq), &msg, options, text, forceFlags); err != nil {
			return err
		}
	}
	return nil
}

// msgItem is a message of the view with its metadata and mod-sequence.
type msgItem struct {
	seq uint32
	msg store.Message
}

// modSeqItems reads the messages of numSet with their mod-sequences: all
// of them, or with changedSince > 0 those changed after it.
func (s *session) modSeqItems(ctx context.Context, numSet imap.NumSet, changedSince uint64) ([]msgItem, error) {
	if changedSince > 0 {
		changed, err := s.srv.st.ChangedSince(ctx, s.sel.mbox.id, changedSince)
		if err != nil {
			return nil, err
		}
		return s.sel.resolveAmong(numSet, changed), nil
	}
	items := s.sel.resolve(numSet)
	if len(items) == 0 {
		return nil, nil
	}
	msgs, err := s.srv.st.MessagesModSeq(ctx, s.sel.mbox.id, uidsOf(items))
	if err != nil {
		return nil, err
	}
	return joinItems(items, msgs), nil
}

// joinItems pairs items with their messages (both in UID order); items
// whose message is gone are dropped.
func joinItems(items []item, msgs []store.Message) []msgItem {
	out := make([]msgItem, 0, len(msgs))
	j := 0
	for _, it := range items {
		for j < len(msgs) && msgs[j].UID < it.uid {
			j++
		}
		if j < len(msgs) && msgs[j].UID == it.uid {
			out = append(out, msgItem{it.seq, msgs[j]})
		}
	}
	return out
}

// resolveAmong is resolve for a few messages given by the caller (in UID
// order): it keeps those that numSet names and that the client knows, with
// their sequence numbers, looking each up in the view instead of walking
// the whole mailbox.
func (sel *selected) resolveAmong(numSet imap.NumSet, msgs []store.Message) []msgItem {
	if imap.IsSearchRes(numSet) {
		numSet = sel.searchRes
	}
	m := sel.mbox
	m.mu.Lock()
	defer m.mu.Unlock()
	var seqSet imap.SeqSet
	var uidSet imap.UIDSet
	bySeq := false
	switch set := numSet.(type) {
	case imap.SeqSet:
		seqSet, bySeq = staticSeqSet(set, sel.clientMaxLocked()), true
	case imap.UIDSet:
		uidSet = staticUIDSet(set, sel.maxUIDLocked())
	}
	var out []msgItem
	for _, msg := range msgs {
		i, ok := slices.BinarySearch(m.uids, msg.UID)
		if !ok {
			continue // not in the view (yet, or any more)
		}
		seq := sel.tracker.EncodeSeqNum(uint32(i + 1))
		if seq == 0 {
			continue
		}
		if bySeq && !seqSet.Contains(seq) || !bySeq && !uidSet.Contains(imap.UID(msg.UID)) {
			continue
		}
		out = append(out, msgItem{seq, msg})
	}
	return out
}

// maxUID is what "*" means in a UID set: the highest UID in the view, or
// UIDNEXT-1 when it is empty.
func (sel *selected) maxUID() uint32 {
	sel.mbox.mu.Lock()
	defer sel.mbox.mu.Unlock()
	return sel.maxUIDLocked()
}

func (sel *selected) maxUIDLocked() uint32 {
	if n := len(sel.mbox.uids); n > 0 {
		return sel.mbox.uids[n-1]
	}
	return sel.mbox.maxUID
}

// storeModSeq is STORE for a client that enabled CONDSTORE: with
// UNCHANGEDSINCE m, a message changed after m is left as it is and named
// in the tagged OK [MODIFIED ...]; the FETCH responses carry MODSEQ, and
// are sent for the changed messages even with .SILENT (RFC 7162 3.1.3),
// so the client learns their new mod-sequences.
func (s *session) storeModSeq(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	op, err := storeOp(flags.Op)
	if err != nil {
		return err
	}
	items := s.sel.resolve(numSet)
	if len(items) == 0 {
		return nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	id := s.sel.mbox.id
	var res []store.Flagged
	var modified []uint32
	if options.HasUnchangedSince {
		res, modified, err = s.srv.st.StoreFlagsUnchangedSinceReport(ctx, id, uidsOf(items), op, storeFlags(flags.Flags), options.UnchangedSince)
	} else {
		res, err = s.srv.st.StoreFlagsReport(ctx, id, uidsOf(items), op, storeFlags(flags.Flags))
	}
	if err != nil {
		return s.internalError("store flags", err)
	}
	isModified := make(map[uint32]bool, len(modified))
	for _, u := range modified {
		isModified[u] = true
	}
	answered := make([]store.Flagged, 0, len(res)) // a modified message is named in [MODIFIED] only
	for _, f := range res {
		if !isModified[f.UID] {
			answered = append(answered, f)
		}
	}
	stale := s.dropTold(ctx, answered, flags.Silent)
	if !flags.Silent || len(stale) > 0 {
		if err := s.announceKeywords(flaggedSets(answered)); err != nil {
			return err
		}
	}
	bySeq := seqsOf(items)
	for _, f := range answered {
		if flags.Silent && !f.Changed {
			continue
		}
		rw := w.CreateMessage(bySeq[f.UID])
		rw.WriteUID(imap.UID(f.UID))
		if !flags.Silent || stale[f.UID] {
			rw.WriteFlags(s.sel.withRecent(f.UID, imapFlags(f.Flags)))
		}
		rw.WriteModSeq(f.ModSeq)
		if err := rw.Close(); err != nil {
			return err
		}
	}
	if len(modified) == 0 {
		return nil
	}
	return imapserver.ModifiedError(modifiedSet(numSet, items, modified, isModified))
}

// modifiedSet names the modified messages as the command named them: by
// UID for UID STORE, by sequence number for STORE.
func modifiedSet(numSet imap.NumSet, items []item, modified []uint32, isModified map[uint32]bool) imap.NumSet {
	if _, ok := numSet.(imap.SeqSet); ok {
		var set imap.SeqSet
		for _, it := range items {
			if isModified[it.uid] {
				set.AddNum(it.seq)
			}
		}
		return set
	}
	var set imap.UIDSet
	for _, u := range modified {
		set.AddNum(imap.UID(u))
	}
	return set
}

// usesModSeq reports whether a search has a MODSEQ key anywhere, so its
// messages must be read with their mod-sequences.
func usesModSeq(c *imap.SearchCriteria) bool {
	if c.ModSeq != nil {
		return true
	}
	for i := range c.Not {
		if usesModSeq(&c.Not[i]) {
			return true
		}
	}
	for i := range c.Or {
		if usesModSeq(&c.Or[i][0]) || usesModSeq(&c.Or[i][1]) {
			return true
		}
	}
	return false
}
