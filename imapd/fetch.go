package main

import (
	"bufio"
	"bytes"
	"errors"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"mailsuite/store"
)

// Fetch writes the requested items of each message. A non-PEEK body fetch
// sets \Seen first (unless the mailbox is read-only), and the new flags go
// into this response instead of a separate update.
//
// A message's metadata and text are read by one statement (a UID's size
// and content never change, so that snapshot is the message). A message
// expunged by another session before it could be read is left out and
// the command answers NO [EXPUNGEISSUED] (RFC 5530): never invented data.
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	items := s.sel.resolve(numSet)
	if len(items) == 0 {
		return nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	mboxID := s.sel.mbox.id
	msgs, err := s.srv.st.MessagesIn(ctx, mboxID, uidsOf(items))
	if err != nil {
		return s.internalError("fetch", err)
	}
	forceFlags := false
	if markSeen(options) && !s.sel.readOnly {
		if forceFlags, err = s.markSeen(msgs); err != nil {
			return err
		}
	}
	if options.Flags || forceFlags {
		if err := s.announceKeywords(flagSets(msgs)); err != nil {
			return err
		}
	}
	byUID := make(map[uint32]*store.Message, len(msgs))
	for i := range msgs {
		byUID[msgs[i].UID] = &msgs[i]
	}
	gone := len(msgs) < len(items)
	for _, it := range items {
		msg := byUID[it.uid]
		if msg == nil {
			continue // expunged meanwhile
		}
		ok, err := s.fetchOne(w, it.seq, msg, options, forceFlags)
		if err != nil {
			return err
		}
		gone = gone || !ok
	}
	if gone {
		return errExpungeIssued
	}
	return nil
}

var errExpungeIssued = &imap.Error{Type: imap.StatusResponseTypeNo, Code: "EXPUNGEISSUED",
	Text: "Some of the requested messages no longer exist"}

func flagSets(msgs []store.Message) [][]string {
	out := make([][]string, len(msgs))
	for i := range msgs {
		out[i] = msgs[i].Flags
	}
	return out
}

func markSeen(options *imap.FetchOptions) bool {
	for _, bs := range options.BodySection {
		if !bs.Peek {
			return true
		}
	}
	for _, bs := range options.BinarySection {
		if !bs.Peek {
			return true
		}
	}
	return false
}

// markSeen adds \Seen to the messages that lack it, updating msgs, and
// reports whether any changed. Other sessions learn of it from the watcher.
func (s *session) markSeen(msgs []store.Message) (bool, error) {
	var uids []uint32
	for i := range msgs {
		if !hasFlag(msgs[i].Flags, imap.FlagSeen) {
			uids = append(uids, msgs[i].UID)
			msgs[i].Flags = append(msgs[i].Flags, string(imap.FlagSeen))
		}
	}
	if len(uids) == 0 {
		return false, nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.srv.st.StoreFlags(ctx, s.sel.mbox.id, uids, store.FlagsAdd, []string{string(imap.FlagSeen)}); err != nil {
		return false, s.internalError("set seen", err)
	}
	if err := s.srv.hub.sync(ctx, s.sel.tracker); err != nil {
		s.srv.log.Error("sync changes", "err", err)
	}
	return true, nil
}

// needsBody says whether the items need the message text, not only the
// metadata row.
func needsBody(o *imap.FetchOptions) bool {
	return o.Envelope || o.BodyStructure != nil || len(o.BodySection) > 0 ||
		len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0
}

// fetchOne writes one message's FETCH response; it reports false, writing
// nothing, if the message's text is gone.
func (s *session) fetchOne(fw *imapserver.FetchWriter, seq uint32, msg *store.Message, o *imap.FetchOptions, forceFlags bool) (bool, error) {
	var body []byte
	if needsBody(o) {
		ctx, cancel := s.ctx()
		_, b, err := s.srv.st.MessageWithBody(ctx, msg.MailboxID, msg.UID)
		cancel()
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, s.internalError("fetch body", err)
		}
		body = b
	}
	w := fw.CreateMessage(seq)
	w.WriteUID(imap.UID(msg.UID))
	if o.Flags || forceFlags {
		w.WriteFlags(s.sel.withRecent(msg.UID, imapFlags(msg.Flags)))
	}
	if o.InternalDate {
		w.WriteInternalDate(msg.InternalDate)
	}
	if o.RFC822Size {
		w.WriteRFC822Size(msg.Size)
	}
	if o.Envelope {
		w.WriteEnvelope(envelope(body))
	}
	if o.BodyStructure != nil {
		w.WriteBodyStructure(imapserver.ExtractBodyStructure(bytes.NewReader(body)))
	}
	for _, bs := range o.BodySection {
		buf := imapserver.ExtractBodySection(bytes.NewReader(body), bs)
		if err := writeAll(w.WriteBodySection(bs, int64(len(buf))), buf); err != nil {
			return false, err
		}
	}
	for _, bs := range o.BinarySection {
		buf := imapserver.ExtractBinarySection(bytes.NewReader(body), bs)
		if err := writeAll(w.WriteBinarySection(bs, int64(len(buf))), buf); err != nil {
			return false, err
		}
	}
	for _, bss := range o.BinarySectionSize {
		w.WriteBinarySectionSize(bss, imapserver.ExtractBinarySectionSize(bytes.NewReader(body), bss))
	}
	return true, w.Close()
}

func writeAll(wc interface {
	Write([]byte) (int, error)
	Close() error
}, buf []byte) error {
	_, err := wc.Write(buf)
	if cerr := wc.Close(); err == nil {
		err = cerr
	}
	return err
}

// envelope parses the header for ENVELOPE; an unparsable header gives an
// empty envelope rather than an error, so one bad message cannot break a
// client's sync.
func envelope(body []byte) *imap.Envelope {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(body)))
	if err != nil {
		return &imap.Envelope{}
	}
	return imapserver.ExtractEnvelope(h)
}
