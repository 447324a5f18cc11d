package main

import (
	"context"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailsuite/store"
)

// Store changes flags in one store transaction and answers with the
// flags the transaction left (FETCH FLAGS), unless .SILENT. Every session
// hears of the change from the watcher, this one too; the answer makes
// that update stale, so it is dropped (dropTold), and the client is told
// the change once. After .SILENT the update of the session's own change
// is dropped too (RFC 3501 6.4.6), but not a later one by another session.
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	if s.sel.readOnly {
		return errReadOnly
	}
	if err := checkStoreFlags(flags.Flags); err != nil {
		return err
	}
	if options.HasUnchangedSince || s.conn.CondStoreEnabled() {
		return s.storeModSeq(w, numSet, flags, options)
	}
	items := s.sel.resolve(numSet)
	if len(items) == 0 {
		return nil
	}
	op, err := storeOp(flags.Op)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	res, err := s.srv.st.StoreFlagsReport(ctx, s.sel.mbox.id, uidsOf(items), op, storeFlags(flags.Flags))
	if err != nil {
		return s.internalError("store flags", err)
	}
	stale := s.dropTold(ctx, res, flags.Silent)
	if flags.Silent && len(stale) == 0 {
		return nil
	}
	if err := s.announceKeywords(flaggedSets(res)); err != nil {
		return err
	}
	bySeq := seqsOf(items)
	for _, f := range res {
		if flags.Silent && !stale[f.UID] {
			continue
		}
		rw := w.CreateMessage(bySeq[f.UID])
		rw.WriteUID(imap.UID(f.UID))
		rw.WriteFlags(s.sel.withRecent(f.UID, imapFlags(f.Flags)))
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// dropTold drops the queued flag updates that a command's answer with
// the flags in res makes stale: those of the same messages at or below
// the answered mod-sequences. It syncs first, so that every change the
// answer covers has been queued and is dropped now, not sent later.
//
// With silent, only the messages the command changed count, and their
// flags are not written: the update of the change itself goes, and so do
// older ones of other sessions that are still queued, which would show
// the client the flags from before its change. It returns the messages
// that had such an older update: the caller tells the client their
// current flags instead.
func (s *session) dropTold(ctx context.Context, res []store.Flagged, silent bool) (stale map[uint32]bool) {
	if err := s.syncView(ctx); err != nil {
		s.srv.log.Error("sync changes", "err", err)
	}
	return s.dropQueued(res, silent)
}

// dropQueued is dropTold for an answer read from the view after a sync
// (viewMessages), which every change it covers has already been queued
// by.
func (s *session) dropQueued(res []store.Flagged, silent bool) (stale map[uint32]bool) {
	told := make(map[imap.UID]uint64, len(res))
	for _, f := range res {
		if !silent || f.Changed {
			told[imap.UID(f.UID)] = f.ModSeq
		}
	}
	s.sel.tracker.DropMessageFlags(func(uid imap.UID, modSeq uint64) bool {
		m, ok := told[uid]
		if !ok || modSeq > m {
			return false
		}
		if silent && modSeq < m {
			if stale == nil {
				stale = make(map[uint32]bool)
			}
			stale[uint32(uid)] = true
		}
		return true
	})
	return stale
}

func flaggedSets(res []store.Flagged) [][]string {
	out := make([][]string, len(res))
	for i := range res {
		out[i] = res[i].Flags
	}
	return out
}

// seqsOf maps each item's UID to its sequence number.
func seqsOf(items []item) map[uint32]uint32 {
	out := make(map[uint32]uint32, len(items))
	for _, it := range items {
		out[it.uid] = it.seq
	}
	return out
}

// checkStoreFlags refuses a flag list holding NIL, which is no flag (the
// grammar's flag-keyword is an atom, and NIL is the nil token): it must
// not become a keyword called NIL.
func checkStoreFlags(flags []imap.Flag) error {
	for _, f := range flags {
		if strings.EqualFold(string(f), "NIL") {
			return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Invalid flag NIL"}
		}
	}
	return nil
}

// storeOp maps a STORE operation to the store's.
func storeOp(op imap.StoreFlagsOp) (store.FlagOp, error) {
	switch op {
	case imap.StoreFlagsSet:
		return store.FlagsSet, nil
	case imap.StoreFlagsAdd:
		return store.FlagsAdd, nil
	case imap.StoreFlagsDel:
		return store.FlagsDel, nil
	}
	return 0, &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown STORE operation"}
}
