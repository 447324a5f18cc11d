package main

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailsuite/store"
)

// Copy copies messages to another mailbox of the user (UIDPLUS COPYUID).
func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	dst, err := s.mailbox(dest, errTryCreate)
	if err != nil {
		return nil, err
	}
	items := s.sel.resolve(numSet)
	if len(items) == 0 {
		return nil, nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	from, to, err := s.srv.st.CopyMessages(ctx, s.sel.mbox.id, uidsOf(items), dst.ID)
	if err != nil {
		return nil, s.internalError("copy", err)
	}
	if len(from) == 0 { // all expunged meanwhile: no COPYUID to give
		return nil, errExpungeIssued
	}
	return copyData(dst, from, to), nil
}

// Move moves messages in one transaction. The EXPUNGE responses reach the
// client through the tracker, right after the COPYUID and before the
// tagged OK (imapserver polls after the command).
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if s.sel.readOnly {
		return errReadOnly
	}
	dst, err := s.mailbox(dest, errTryCreate)
	if err != nil {
		return err
	}
	items := s.sel.resolve(numSet)
	if len(items) == 0 {
		return nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	from, to, err := s.srv.st.MoveMessages(ctx, s.sel.mbox.id, uidsOf(items), dst.ID)
	if err != nil {
		return s.internalError("move", err)
	}
	if len(from) == 0 { // all expunged meanwhile: no COPYUID to give
		return errExpungeIssued
	}
	if err := w.WriteCopyData(copyData(dst, from, to)); err != nil {
		return err
	}
	if err := s.syncView(ctx); err != nil {
		s.srv.log.Error("sync changes", "err", err)
	}
	return nil
}

func copyData(dst store.Mailbox, from, to []uint32) *imap.CopyData {
	var src, dest imap.UIDSet
	for i := range from {
		src.AddNum(imap.UID(from[i]))
		dest.AddNum(imap.UID(to[i]))
	}
	return &imap.CopyData{UIDValidity: dst.UIDValidity, SourceUIDs: src, DestUIDs: dest}
}

// Expunge deletes the messages flagged \Deleted (within uids, for UID
// EXPUNGE). The EXPUNGE responses come from the tracker when imapserver
// polls after the command, in the numbering this session knows. The
// \Deleted flag is checked inside the deleting transaction, so a message
// undeleted by a STORE that committed first stays. In a read-only
// mailbox it expunges nothing and succeeds, as Dovecot does: CLOSE after
// EXAMINE must (RFC 3501 6.4.2).
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	if s.sel.readOnly {
		return nil
	}
	var set imap.NumSet = imap.UIDSet{{Start: 1, Stop: 0}}
	if uids != nil {
		set = *uids
	}
	items := s.sel.resolve(set)
	if len(items) == 0 {
		return nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	cand, err := s.deletedOf(ctx, items)
	if err != nil {
		return s.internalError("expunge", err)
	}
	gone, err := s.srv.st.ExpungeDeleted(ctx, s.sel.mbox.id, cand)
	if err != nil {
		return s.internalError("expunge", err)
	}
	if len(gone) == 0 {
		return nil
	}
	if err := s.syncView(ctx); err != nil {
		s.srv.log.Error("sync changes", "err", err)
	}
	return nil
}
