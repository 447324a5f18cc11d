package imapserver

// mailsuite: CONDSTORE and QRESYNC (RFC 7162), which go-imap
// v2.0.0-beta.8's server lacks: the parsing of the MODSEQ fetch item, the
// CHANGEDSINCE, VANISHED and UNCHANGEDSINCE modifiers, the SEARCH MODSEQ
// key and the SELECT/EXAMINE parameters; the enabling, explicit (ENABLE)
// and implicit (RFC 7162 section 3.1); and the responses: MODSEQ in FETCH,
// HIGHESTMODSEQ, [MODIFIED], VANISHED and VANISHED (EARLIER). The backend
// keeps the mod-sequences; a session that offers the capabilities
// implements SessionCondStore.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// SessionCondStore is a session that supports CONDSTORE and QRESYNC.
type SessionCondStore interface {
	Session

	// Resync runs after SELECT or EXAMINE with QRESYNC has selected the
	// mailbox: if the UIDVALIDITY matches, it writes the UIDs expunged
	// since q.ModSeq with w.WriteVanished(uids, true) and a FETCH (UID FLAGS
	// MODSEQ) of each message changed since.
	Resync(w *FetchWriter, q *imap.SelectQResync) error

	// HighestModSeq returns the selected mailbox's HIGHESTMODSEQ, or 0 if
	// unknown.
	HighestModSeq() uint64
}

// ModifiedError is the answer of a STORE (UNCHANGEDSINCE m) some of whose
// messages changed after m: a tagged OK with [MODIFIED set] (RFC 7162
// section 3.1.3). The messages that passed the test were stored.
func ModifiedError(set imap.NumSet) error {
	return &imap.Error{
		Type: imap.StatusResponseTypeOK,
		Code: imap.ResponseCode("MODIFIED " + set.String()),
		Text: "Conditional STORE failed for some messages",
	}
}

// CondStoreEnabled reports whether the client enabled CONDSTORE, by ENABLE
// or by a command that uses it: FETCH responses then carry MODSEQ.
func (c *Conn) CondStoreEnabled() bool {
	c.mutex.Lock()
	defer c.mutex.Unlock()
	return c.enabled.Has(imap.CapCondStore)
}

// QResyncEnabled reports whether the client enabled QRESYNC: expunges are
// then announced as VANISHED.
func (c *Conn) QResyncEnabled() bool {
	c.mutex.Lock()
	defer c.mutex.Unlock()
	return c.enabled.Has(imap.CapQResync)
}

// enableCondStore turns CONDSTORE on for the rest of the connection, as
// any command using it does (RFC 7162 section 3.1). It fails if the server
// does not offer it. Turned on with a mailbox selected, it tells the
// mailbox's HIGHESTMODSEQ, which the client did not get at SELECT.
func (c *Conn) enableCondStore() error {
	if !c.server.options.caps().Has(imap.CapCondStore) {
		return newClientBugError("CONDSTORE is not supported")
	}
	c.mutex.Lock()
	_, was := c.enabled[imap.CapCondStore]
	c.enabled[imap.CapCondStore] = struct{}{}
	c.mutex.Unlock()
	if was || c.state != imap.ConnStateSelected {
		return nil
	}
	if sess, ok := c.session.(SessionCondStore); ok {
		if h := sess.HighestModSeq(); h != 0 {
			return c.writeHighestModSeq(h)
		}
	}
	return nil
}

// enableByCommand runs ENABLE's part for CONDSTORE and QRESYNC, which
// implies it, and reports whether req was enabled.
func (c *Conn) enableByCommand(req imap.Cap) (bool, error) {
	if !c.server.options.caps().Has(req) {
		return false, nil
	}
	if req == imap.CapQResync {
		c.mutex.Lock()
		c.enabled[imap.CapQResync] = struct{}{}
		c.mutex.Unlock()
	}
	return true, c.enableCondStore()
}

// readSelectParams reads the optional parameter list of SELECT and
// EXAMINE: (CONDSTORE) or (QRESYNC (uidvalidity modseq [known-uids]
// [(seq-set uid-set)])).
func (c *Conn) readSelectParams(dec *imapwire.Decoder, options *imap.SelectOptions) error {
	if !dec.SP() {
		return nil
	}
	return dec.ExpectList(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		switch strings.ToUpper(name) {
		case "CONDSTORE":
			options.CondStore = true
			return nil
		case "QRESYNC":
			if !c.QResyncEnabled() {
				return newClientBugError("QRESYNC must be enabled first")
			}
			q, err := readQResyncParam(dec)
			options.QResync = q
			return err
		}
		return newClientBugError("Unknown SELECT parameter")
	})
}

func readQResyncParam(dec *imapwire.Decoder) (*imap.SelectQResync, error) {
	var q imap.SelectQResync
	if !dec.ExpectSP() || !dec.ExpectSpecial('(') || !dec.ExpectNumber(&q.UIDValidity) ||
		!dec.ExpectSP() || !dec.ExpectModSeq(&q.ModSeq) {
		return nil, dec.Err()
	}
	if q.UIDValidity == 0 || q.ModSeq == 0 {
		return nil, newClientBugError("QRESYNC UIDVALIDITY and mod-sequence must be positive")
	}
	for dec.SP() {
		if dec.Special('(') {
			var seqs imap.NumSet
			if !dec.ExpectNumSet(imapwire.NumKindSeq, &seqs) || !dec.ExpectSP() ||
				!dec.ExpectUIDSet(&q.KnownSeqUIDs) || !dec.ExpectSpecial(')') {
				return nil, syntaxError(dec)
			}
			set, ok := seqs.(imap.SeqSet)
			if !ok || imap.IsSearchRes(q.KnownSeqUIDs) {
				return nil, newClientBugError("$ is not a known set")
			}
			q.KnownSeqNums = set
			break
		}
		if q.KnownUIDs != nil {
			return nil, newClientBugError("Malformed QRESYNC parameter")
		}
		if !dec.ExpectUIDSet(&q.KnownUIDs) {
			return nil, syntaxError(dec)
		}
		if imap.IsSearchRes(q.KnownUIDs) {
			return nil, newClientBugError("$ is not a known set")
		}
	}
	if !dec.ExpectSpecial(')') {
		return nil, dec.Err()
	}
	return &q, nil
}

// syntaxError is the decoder's error as a BAD: a malformed number set
// comes out of the decoder as a plain error, which would answer NO
// [SERVERBUG].
func syntaxError(dec *imapwire.Decoder) error {
	err := dec.Err()
	var expectErr *imapwire.DecoderExpectError
	if err == nil || errors.As(err, &expectErr) {
		return err
	}
	return newClientBugError("Syntax error: " + err.Error())
}

// readFetchModifiers reads FETCH's optional modifier list: CHANGEDSINCE m,
// and VANISHED (UID FETCH only, with QRESYNC enabled and CHANGEDSINCE).
func (c *Conn) readFetchModifiers(dec *imapwire.Decoder, numKind NumKind, options *imap.FetchOptions) error {
	changedSince := false
	err := dec.ExpectList(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		switch strings.ToUpper(name) {
		case "CHANGEDSINCE":
			// 0 is outside RFC 7162's grammar; taken, as Dovecot takes
			// it, as "every message".
			if !dec.ExpectSP() || !dec.ExpectModSeq(&options.ChangedSince) {
				return dec.Err()
			}
			changedSince = true
			options.ModSeq = true
		case "VANISHED":
			options.Vanished = true
		default:
			return newClientBugError("Unknown FETCH modifier")
		}
		return nil
	})
	if err != nil {
		return err
	}
	if options.Vanished && (numKind != NumKindUID || !c.QResyncEnabled() || !changedSince) {
		return newClientBugError("VANISHED needs UID FETCH, QRESYNC enabled and CHANGEDSINCE")
	}
	return nil
}

// readStoreModifiers reads STORE's optional modifier list, which follows
// the message set: (UNCHANGEDSINCE m). It reports whether there was one.
func readStoreModifiers(dec *imapwire.Decoder, options *imap.StoreOptions) (bool, error) {
	return dec.List(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		if !strings.EqualFold(name, "UNCHANGEDSINCE") {
			return newClientBugError("Unknown STORE modifier")
		}
		if !dec.ExpectSP() || !dec.ExpectModSeq(&options.UnchangedSince) {
			return dec.Err()
		}
		options.HasUnchangedSince = true
		return nil
	})
}

// readSearchModSeq reads the rest of a MODSEQ search key: an optional
// entry name and type, then the mod-sequence. Several MODSEQ keys are
// ANDed: the highest wins.
func readSearchModSeq(criteria *imap.SearchCriteria, dec *imapwire.Decoder) error {
	var ms imap.SearchCriteriaModSeq
	if !dec.ExpectSP() {
		return dec.Err()
	}
	if dec.Quoted(&ms.MetadataName) {
		var typ string
		if !dec.ExpectSP() || !dec.ExpectAtom(&typ) || !dec.ExpectSP() {
			return dec.Err()
		}
		ms.MetadataType = imap.SearchCriteriaMetadataType(strings.ToLower(typ))
		switch ms.MetadataType {
		case imap.SearchCriteriaMetadataAll, imap.SearchCriteriaMetadataPrivate, imap.SearchCriteriaMetadataShared:
		default:
			return newClientBugError("Unknown MODSEQ entry type")
		}
	}
	if !dec.ExpectModSeq(&ms.ModSeq) {
		return dec.Err()
	}
	if criteria.ModSeq == nil || criteria.ModSeq.ModSeq < ms.ModSeq {
		criteria.ModSeq = &ms
	}
	return nil
}

// searchUsesModSeq reports whether any key of the criteria is MODSEQ.
func searchUsesModSeq(c *imap.SearchCriteria) bool {
	if c.ModSeq != nil {
		return true
	}
	for i := range c.Not {
		if searchUsesModSeq(&c.Not[i]) {
			return true
		}
	}
	for i := range c.Or {
		if searchUsesModSeq(&c.Or[i][0]) || searchUsesModSeq(&c.Or[i][1]) {
			return true
		}
	}
	return false
}

// writeHighestModSeq writes the OK [HIGHESTMODSEQ] of SELECT and EXAMINE.
func (c *Conn) writeHighestModSeq(modSeq uint64) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("OK").SP()
	enc.Special('[').Atom("HIGHESTMODSEQ").SP().ModSeq(modSeq).Special(']')
	enc.SP().Text("Highest")
	return enc.CRLF()
}

// resyncSelected answers the QRESYNC parameter of SELECT or EXAMINE.
func (c *Conn) resyncSelected(q *imap.SelectQResync) error {
	sess, ok := c.session.(SessionCondStore)
	if !ok {
		return nil
	}
	return sess.Resync(&FetchWriter{conn: c}, q)
}

// WriteModSeq writes the message's mod-sequence.
func (w *FetchResponseWriter) WriteModSeq(modSeq uint64) {
	w.writeItemSep()
	w.enc.Atom("MODSEQ").SP().Special('(').ModSeq(modSeq).Special(')')
}

// WriteVanished writes a VANISHED response: VANISHED (EARLIER) for UIDs
// expunged before this command (QRESYNC resync, UID FETCH VANISHED), plain
// VANISHED for an expunge the client learns of now. An empty set writes
// nothing.
func (w *FetchWriter) WriteVanished(uids imap.UIDSet, earlier bool) error {
	if len(uids) == 0 {
		return nil
	}
	return w.conn.writeVanished(uids, earlier)
}

func (c *Conn) writeVanished(uids imap.UIDSet, earlier bool) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("VANISHED").SP()
	if earlier {
		enc.Special('(').Atom("EARLIER").Special(')').SP()
	}
	return enc.NumSet(uids).CRLF()
}

// QueueExpungeUID queues an expunge, as QueueExpunge, with the message's
// UID, so that a session with QRESYNC enabled gets VANISHED for it.
func (t *MailboxTracker) QueueExpungeUID(seqNum uint32, uid imap.UID) {
	if seqNum == 0 {
		panic("imapserver: invalid expunge message sequence number")
	}
	t.queueUpdate(&trackerUpdate{expunge: seqNum, expungeUID: uid}, nil)
}

// QueueMessageFlagsModSeq queues a FETCH FLAGS update, as
// QueueMessageFlags, with the message's new mod-sequence for the sessions
// with CONDSTORE enabled.
func (t *MailboxTracker) QueueMessageFlagsModSeq(seqNum uint32, uid imap.UID, flags []imap.Flag, modSeq uint64, source *SessionTracker) {
	t.queueUpdate(&trackerUpdate{fetch: &trackerUpdateFetch{
		seqNum: seqNum,
		uid:    uid,
		flags:  flags,
		modSeq: modSeq,
	}}, source)
}

// writeExpunges writes the expunge that starts updates: to a client with
// QRESYNC enabled, as one VANISHED with the UIDs of the whole run of
// expunges there (RFC 7162 section 3.2.10); to others, as EXPUNGE. It
// returns how many updates it wrote.
func (w *UpdateWriter) writeExpunges(updates []trackerUpdate) (int, error) {
	if updates[0].expungeUID == 0 || !w.conn.QResyncEnabled() {
		return 1, w.WriteExpunge(updates[0].expunge)
	}
	if !w.allowExpunge {
		return 0, fmt.Errorf("imapserver: VANISHED updates are not allowed in this context")
	}
	var uids imap.UIDSet
	n := 0
	for n < len(updates) && updates[n].expunge != 0 && updates[n].expungeUID != 0 {
		uids.AddNum(updates[n].expungeUID)
		n++
	}
	return n, w.conn.writeVanished(uids, false)
}

// expungeDone is the tagged OK of EXPUNGE and UID EXPUNGE for a client with
// QRESYNC enabled: it carries the new HIGHESTMODSEQ (as Dovecot's does),
// so the client need not ask again for expunges it just saw. The session
// reads it before imapserver polls, so every change up to it is written
// before the OK.
func (c *Conn) expungeDone() error {
	sess, ok := c.session.(SessionCondStore)
	if !ok || !c.QResyncEnabled() {
		return nil
	}
	h := sess.HighestModSeq()
	if h == 0 {
		return nil
	}
	return &imap.Error{
		Type: imap.StatusResponseTypeOK,
		Code: imap.ResponseCode(fmt.Sprintf("HIGHESTMODSEQ %d", h)),
		Text: "Expunge completed",
	}
}

// writeMessageFlagsModSeq writes FETCH (UID FLAGS), with MODSEQ when the
// client enabled CONDSTORE.
func (w *UpdateWriter) writeMessageFlagsModSeq(f *trackerUpdateFetch) error {
	if f.modSeq == 0 || !w.conn.CondStoreEnabled() {
		return w.WriteMessageFlags(f.seqNum, f.uid, f.flags)
	}
	respWriter := (&FetchWriter{conn: w.conn}).CreateMessage(f.seqNum)
	if f.uid != 0 {
		respWriter.WriteUID(f.uid)
	}
	respWriter.WriteFlags(f.flags)
	respWriter.WriteModSeq(f.modSeq)
	return respWriter.Close()
}
