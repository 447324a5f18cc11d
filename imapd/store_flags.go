package main

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailsuite/store"
)

// Store changes flags in one store transaction. Other sessions hear of it
// from the watcher; this one answers with FETCH FLAGS unless .SILENT.
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
	if err := s.srv.st.StoreFlags(ctx, s.sel.mbox.id, uidsOf(items), op, storeFlags(flags.Flags)); err != nil {
		return s.internalError("store flags", err)
	}
	if err := s.srv.hub.sync(ctx, s.sel.tracker); err != nil {
		s.srv.log.Error("sync changes", "err", err)
	}
	if flags.Silent {
		return nil
	}
	msgs, err := s.srv.st.MessagesIn(ctx, s.sel.mbox.id, uidsOf(items))
	if err != nil {
		return s.internalError("store flags", err)
	}
	if err := s.announceKeywords(flagSets(msgs)); err != nil {
		return err
	}
	byUID := make(map[uint32][]string, len(msgs))
	for _, m := range msgs {
		byUID[m.UID] = m.Flags
	}
	for _, it := range items {
		f, ok := byUID[it.uid]
		if !ok {
			continue
		}
		rw := w.CreateMessage(it.seq)
		rw.WriteUID(imap.UID(it.uid))
		rw.WriteFlags(s.sel.withRecent(it.uid, imapFlags(f)))
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
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
