package main

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"mailsuite/store"
)

// Search evaluates the criteria over the metadata rows of the mailbox and
// reads a message's text only when a criterion needs it (HEADER, BODY,
// TEXT, SENT*), one message at a time.
func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	items := s.sel.resolve(imap.UIDSet{{Start: 1, Stop: 0}})
	s.staticCriteria(criteria)
	ctx, cancel := s.ctx()
	defer cancel()
	var err error
	read, modseq := s.srv.st.MessagesIn, usesModSeq(criteria)
	if modseq {
		read = s.srv.st.MessagesModSeq
	}
	var msgs []store.Message
	if onlyNumbers(criteria) {
		msgs = numberedMessages(s.sel.mbox.id, items)
	} else if msgs, err = read(ctx, s.sel.mbox.id, uidsOf(items)); err != nil {
		return nil, s.internalError("search", err)
	}
	byUID := make(map[uint32]*store.Message, len(msgs))
	for i := range msgs {
		byUID[msgs[i].UID] = &msgs[i]
	}
	var (
		data   imap.SearchData
		seqSet imap.SeqSet
		uidSet imap.UIDSet
	)
	for _, it := range items {
		msg := byUID[it.uid]
		if msg == nil {
			continue
		}
		c := &candidate{seq: it.seq, msg: msg, recent: s.sel.isRecent(msg.UID), load: s.bodyLoader(msg)}
		if !c.match(criteria) {
			continue
		}
		uidSet.AddNum(imap.UID(it.uid))
		num := it.seq
		if kind == imapserver.NumKindUID {
			num = it.uid
		} else {
			seqSet.AddNum(it.seq)
		}
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		if num > data.Max {
			data.Max = num
		}
		data.Count++
		if modseq && msg.ModSeq > data.ModSeq {
			data.ModSeq = msg.ModSeq // RFC 7162 3.1.5: the highest of the matches
		}
	}
	if kind == imapserver.NumKindUID {
		data.All = uidSet
	} else {
		data.All = seqSet
	}
	if options.ReturnSave {
		s.sel.searchRes = uidSet
	}
	return &data, nil
}

// onlyNumbers says whether the criteria name messages by sequence number
// and UID alone (ALL, sets, and NOT or OR of them): the session's own
// numbering answers those without reading the store (a message expunged
// meanwhile is still listed until the client is told of it, as RFC 2180
// allows).
func onlyNumbers(c *imap.SearchCriteria) bool {
	rest := *c
	rest.SeqNum, rest.UID, rest.Not, rest.Or = nil, nil, nil, nil
	if !reflect.ValueOf(rest).IsZero() {
		return false
	}
	for i := range c.Not {
		if !onlyNumbers(&c.Not[i]) {
			return false
		}
	}
	for i := range c.Or {
		if !onlyNumbers(&c.Or[i][0]) || !onlyNumbers(&c.Or[i][1]) {
			return false
		}
	}
	return true
}

// numberedMessages is the messages of items by their numbers alone, for
// criteria that test nothing else.
func numberedMessages(mailboxID int64, items []item) []store.Message {
	out := make([]store.Message, len(items))
	for i, it := range items {
		out[i] = store.Message{MailboxID: mailboxID, UID: it.uid}
	}
	return out
}

func (s *session) bodyLoader(msg *store.Message) func() []byte {
	return func() []byte {
		ctx, cancel := s.ctx()
		defer cancel()
		b, err := s.srv.st.MessageBody(ctx, msg.MailboxID, msg.UID)
		if err != nil {
			return nil
		}
		return b
	}
}

// staticCriteria replaces "*" and "$" in the criteria's sets by what they
// stand for now, recursively.
func (s *session) staticCriteria(c *imap.SearchCriteria) {
	m := s.sel.mbox
	m.mu.Lock()
	maxSeq := s.sel.clientMaxLocked()
	maxUID := m.maxUID
	if n := len(m.uids); n > 0 {
		maxUID = m.uids[n-1]
	}
	m.mu.Unlock()
	var walk func(c *imap.SearchCriteria)
	walk = func(c *imap.SearchCriteria) {
		seqs := c.SeqNum[:0:0]
		for _, set := range c.SeqNum {
			if imap.IsSearchRes(set) {
				c.UID = append(c.UID, s.sel.searchRes)
				continue
			}
			seqs = append(seqs, staticSeqSet(set, maxSeq))
		}
		c.SeqNum = seqs
		for i, set := range c.UID {
			if imap.IsSearchRes(set) {
				c.UID[i] = s.sel.searchRes
				continue
			}
			c.UID[i] = staticUIDSet(set, maxUID)
		}
		for i := range c.Not {
			walk(&c.Not[i])
		}
		for i := range c.Or {
			walk(&c.Or[i][0])
			walk(&c.Or[i][1])
		}
	}
	walk(c)
}

// candidate is a message under test, its text read at most once.
type candidate struct {
	seq    uint32
	msg    *store.Message
	recent bool
	load   func() []byte
	body   []byte
	loaded bool
}

// hasFlag tests a flag, \Recent included (it is this session's, not the
// store's).
func (c *candidate) hasFlag(f imap.Flag) bool {
	if strings.EqualFold(string(f), string(flagRecent)) {
		return c.recent
	}
	return hasFlag(c.msg.Flags, f)
}

func (c *candidate) text() []byte {
	if !c.loaded {
		c.body, c.loaded = c.load(), true
	}
	return c.body
}

func (c *candidate) entity() *gomessage.Entity {
	e, _ := gomessage.Read(bytes.NewReader(c.text()))
	if e == nil {
		e, _ = gomessage.New(gomessage.Header{}, bytes.NewReader(nil))
	}
	return e
}

// match reports whether the message meets every criterion. Cheap tests on
// the metadata run first so the text is read only when they pass.
func (c *candidate) match(cr *imap.SearchCriteria) bool {
	for _, set := range cr.SeqNum {
		if c.seq == 0 || !set.Contains(c.seq) {
			return false
		}
	}
	for _, set := range cr.UID {
		if !set.Contains(imap.UID(c.msg.UID)) {
			return false
		}
	}
	if !matchDate(c.msg.InternalDate, cr.Since, cr.Before) {
		return false
	}
	for _, f := range cr.Flag {
		if !c.hasFlag(f) {
			return false
		}
	}
	for _, f := range cr.NotFlag {
		if c.hasFlag(f) {
			return false
		}
	}
	if cr.ModSeq != nil && c.msg.ModSeq < cr.ModSeq.ModSeq {
		return false
	}
	if cr.Larger != 0 && c.msg.Size <= cr.Larger {
		return false
	}
	if cr.Smaller != 0 && c.msg.Size >= cr.Smaller {
		return false
	}
	for i := range cr.Not {
		if c.match(&cr.Not[i]) {
			return false
		}
	}
	for i := range cr.Or {
		if !c.match(&cr.Or[i][0]) && !c.match(&cr.Or[i][1]) {
			return false
		}
	}
	return c.matchText(cr)
}

// matchText applies the criteria that need the message text.
func (c *candidate) matchText(cr *imap.SearchCriteria) bool {
	if len(cr.Header) == 0 && cr.SentSince.IsZero() && cr.SentBefore.IsZero() &&
		len(cr.Text) == 0 && len(cr.Body) == 0 {
		return true
	}
	for _, h := range cr.Header {
		if !matchHeader(c.text(), h.Key, h.Value) {
			return false
		}
	}
	if !cr.SentSince.IsZero() || !cr.SentBefore.IsZero() {
		header := mail.Header{Header: c.entity().Header}
		t, err := header.Date()
		if err != nil || !matchDate(t, cr.SentSince, cr.SentBefore) {
			return false
		}
	}
	for _, t := range cr.Text {
		if !matchEntity(c.entity(), t, true) {
			return false
		}
	}
	for _, b := range cr.Body {
		if !matchEntity(c.entity(), b, false) {
			return false
		}
	}
	return true
}

// matchDate compares dates only, ignoring time and zone (RFC 3501 6.4.4).
func matchDate(t, since, before time.Time) bool {
	t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if !since.IsZero() && t.Before(since) {
		return false
	}
	if !before.IsZero() && !t.Before(before) {
		return false
	}
	return true
}

func matchHeaderFields(fields gomessage.HeaderFields, pattern string) bool {
	if pattern == "" {
		return fields.Len() > 0
	}
	pattern = strings.ToLower(pattern)
	for fields.Next() {
		v, err := fields.Text()
		if err != nil {
			v = fields.Value()
		}
		if strings.Contains(strings.ToLower(v), pattern) {
			return true
		}
	}
	return false
}

// maxSearchDepth bounds MIME nesting walked by a text search.
const maxSearchDepth = 20

// matchEntity looks for pattern, case-insensitively, in the text parts of
// a message (and its header fields when includeHeader).
func matchEntity(e *gomessage.Entity, pattern string, includeHeader bool) bool {
	return matchEntityDepth(e, pattern, includeHeader, 0)
}

func matchEntityDepth(e *gomessage.Entity, pattern string, includeHeader bool, depth int) bool {
	if pattern == "" {
		return true
	}
	if depth > maxSearchDepth {
		return false
	}
	if includeHeader && matchHeaderFields(e.Header.Fields(), pattern) {
		return true
	}
	if mr := e.MultipartReader(); mr != nil {
		for {
			part, err := mr.NextPart()
			if err != nil {
				return false
			}
			if matchEntityDepth(part, pattern, includeHeader, depth+1) {
				return true
			}
		}
	}
	t, _, _ := e.Header.ContentType()
	if t != "" && !strings.HasPrefix(t, "text/") && !strings.HasPrefix(t, "message/") {
		return false
	}
	buf, err := io.ReadAll(e.Body)
	if err != nil && len(buf) == 0 {
		return false
	}
	return bytes.Contains(bytes.ToLower(buf), bytes.ToLower([]byte(pattern)))
}
