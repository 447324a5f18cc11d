package main

import (
	"bufio"
	"bytes"
	"errors"
	"runtime/debug"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"mailsuite/store"
)

// Fetch writes the requested items of each message. A non-PEEK body fetch
// sets \Seen first (unless the mailbox is read-only), and the new flags go
// into this response instead of a separate update.
//
// A message's metadata comes from the mailbox's view once every change
// committed before the command is applied (viewMessages), its text from
// one statement (a UID's size and content never change). A message
// expunged by another session before it could be read is left out and
// the command answers NO [EXPUNGEISSUED] (RFC 5530): never invented data.
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	if options.ModSeq || markSeen(options) && s.conn.CondStoreEnabled() {
		return s.fetchModSeq(w, numSet, options)
	}
	items := s.sel.resolve(numSet)
	if len(items) == 0 {
		return nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	msgs, err := s.viewMessages(ctx, items)
	if err != nil {
		return s.internalError("fetch", err)
	}
	forceFlags := false
	if markSeen(options) && !s.sel.readOnly {
		if forceFlags, err = s.markSeen(msgs); err != nil {
			return err
		}
	}
	if forceFlags {
		s.dropTold(ctx, toldFlags(msgs), false) // after the write of \Seen
	} else if options.Flags {
		s.dropQueued(toldFlags(msgs), false)
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
		text, err := s.fetchText(msg, options)
		if errors.Is(err, errGone) {
			gone = true
			continue
		}
		if err != nil {
			return err
		}
		if err := s.fetchOne(w.CreateMessage(it.seq), msg, options, text, forceFlags); err != nil {
			return err
		}
	}
	if gone {
		return errExpungeIssued
	}
	return nil
}

var errExpungeIssued = &imap.Error{Type: imap.StatusResponseTypeNo, Code: "EXPUNGEISSUED",
	Text: "Some of the requested messages no longer exist"}

// errGone says a message's text was expunged before it could be read.
var errGone = errors.New("message expunged meanwhile")

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

// markSeen adds \Seen to the messages that lack it, updating msgs with
// the flags and mod-sequences the change left, and reports whether any
// changed. The caller writes their flags and drops the update the watcher
// queues for the change (dropTold).
func (s *session) markSeen(msgs []store.Message) (bool, error) {
	var uids []uint32
	for i := range msgs {
		if !hasFlag(msgs[i].Flags, imap.FlagSeen) {
			uids = append(uids, msgs[i].UID)
		}
	}
	if len(uids) == 0 {
		return false, nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	res, err := s.srv.st.StoreFlagsReport(ctx, s.sel.mbox.id, uids, store.FlagsAdd, []string{string(imap.FlagSeen)})
	if err != nil {
		return false, s.internalError("set seen", err)
	}
	byUID := make(map[uint32]store.Flagged, len(res))
	for _, f := range res {
		byUID[f.UID] = f
	}
	for i := range msgs {
		if f, ok := byUID[msgs[i].UID]; ok {
			msgs[i].Flags, msgs[i].ModSeq = f.Flags, f.ModSeq
		}
	}
	return true, nil
}

// toldFlags is what FETCH responses with the flags of msgs tell the
// client, for dropTold.
func toldFlags(msgs []store.Message) []store.Flagged {
	out := make([]store.Flagged, len(msgs))
	for i, m := range msgs {
		out[i] = store.Flagged{UID: m.UID, Flags: m.Flags, ModSeq: m.ModSeq}
	}
	return out
}

// needsBody says whether the items need the message text, not only the
// metadata row.
func needsBody(o *imap.FetchOptions) bool {
	return o.Envelope || o.BodyStructure != nil || len(o.BodySection) > 0 ||
		len(o.BinarySection) > 0 || len(o.BinarySectionSize) > 0
}

// fetchedText holds the items of one message taken from its text. They
// are computed before its response begins, so that a failure cannot leave
// half a response on the wire.
type fetchedText struct {
	envelope      *imap.Envelope
	bodyStructure imap.BodyStructure
	sections      [][]byte
	binary        [][]byte
	binarySize    []uint32
}

// Seams for the test that a panic in MIME extraction is contained.
var extractBodyStructure = imapserver.ExtractBodyStructure

// fetchText loads the message text if the items need it and extracts
// them; errGone if the message was expunged meanwhile. A panic in the extraction (a message the MIME code cannot handle)
// is logged with the message it came from and answers the command NO,
// rather than dropping the connection.
func (s *session) fetchText(msg *store.Message, o *imap.FetchOptions) (t fetchedText, err error) {
	if !needsBody(o) {
		return t, nil
	}
	ctx, cancel := s.ctx()
	_, body, err := s.srv.st.MessageWithBody(ctx, msg.MailboxID, msg.UID)
	cancel()
	if errors.Is(err, store.ErrNotFound) {
		return t, errGone // left out: never an empty message
	} else if err != nil {
		return t, s.internalError("fetch body", err)
	}
	defer func() {
		if v := recover(); v != nil {
			s.srv.log.Error("fetch: panic extracting message", "user", s.login, "mailbox", s.sel.name,
				"uid", msg.UID, "panic", v, "stack", string(debug.Stack()))
			err = errCannotParse
		}
	}()
	if o.Envelope {
		t.envelope = envelope(body)
	}
	if o.BodyStructure != nil {
		t.bodyStructure = extractBodyStructure(bytes.NewReader(body))
	}
	for _, bs := range o.BodySection {
		t.sections = append(t.sections, imapserver.ExtractBodySection(bytes.NewReader(body), bs))
	}
	for _, bs := range o.BinarySection {
		t.binary = append(t.binary, imapserver.ExtractBinarySection(bytes.NewReader(body), bs))
	}
	for _, bss := range o.BinarySectionSize {
		t.binarySize = append(t.binarySize, imapserver.ExtractBinarySectionSize(bytes.NewReader(body), bss))
	}
	return t, nil
}

// errCannotParse answers a FETCH whose message text could not be parsed.
var errCannotParse = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug,
	Text: "Internal error parsing a message"}

func (s *session) fetchOne(w *imapserver.FetchResponseWriter, msg *store.Message, o *imap.FetchOptions, t fetchedText, forceFlags bool) error {
	w.WriteUID(imap.UID(msg.UID))
	if o.Flags || forceFlags {
		w.WriteFlags(s.sel.withRecent(msg.UID, imapFlags(msg.Flags)))
	}
	if o.ModSeq {
		w.WriteModSeq(msg.ModSeq)
	}
	if o.InternalDate {
		w.WriteInternalDate(msg.InternalDate)
	}
	if o.RFC822Size {
		w.WriteRFC822Size(msg.Size)
	}
	if o.Envelope {
		w.WriteEnvelope(t.envelope)
	}
	if o.BodyStructure != nil {
		w.WriteBodyStructure(t.bodyStructure)
	}
	for i, bs := range o.BodySection {
		if err := writeAll(w.WriteBodySection(bs, int64(len(t.sections[i]))), t.sections[i]); err != nil {
			return err
		}
	}
	for i, bs := range o.BinarySection {
		if err := writeAll(w.WriteBinarySection(bs, int64(len(t.binary[i]))), t.binary[i]); err != nil {
			return err
		}
	}
	for i, bss := range o.BinarySectionSize {
		w.WriteBinarySectionSize(bss, t.binarySize[i])
	}
	return w.Close()
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
