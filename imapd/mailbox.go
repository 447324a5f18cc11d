package main

import (
	"errors"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailsuite/store"
)

var (
	errNoMailbox = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent,
		Text: "No such mailbox"}
	errTryCreate = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate,
		Text: "No such mailbox"}
	errMailboxExists = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists,
		Text: "Mailbox already exists"}
	errReadOnly = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
		Text: "Mailbox is read-only"}
)

// internalError maps a store error to the reply: a refusal by quota or
// limit to NO [OVERQUOTA] or NO [LIMIT] (see quota.go); anything else is
// logged and becomes a generic NO, so store errors never reach the client
// verbatim.
func (s *session) internalError(op string, err error) error {
	if refusal := s.limitError(op, err); refusal != nil {
		return refusal
	}
	s.srv.log.Error(op, "user", s.login, "err", err)
	return errUnavailable
}

// mailbox looks a mailbox of the user up by client-given name.
func (s *session) mailbox(name string, missing error) (store.Mailbox, error) {
	name, err := checkName(name)
	if err != nil {
		return store.Mailbox{}, missing
	}
	ctx, cancel := s.ctx()
	defer cancel()
	mb, err := s.srv.st.MailboxByName(ctx, s.userID, name)
	if errors.Is(err, store.ErrNotFound) {
		return mb, missing
	}
	if err != nil {
		return mb, s.internalError("find mailbox", err)
	}
	return mb, nil
}

// Select opens a mailbox: its shared view is loaded (or shared with other
// sessions of this process) and this session gets a tracker on it. The
// store work runs aside, so the connection's stack stays small while the
// client idles in the mailbox.
func (s *session) Select(name string, options *imap.SelectOptions) (data *imap.SelectData, err error) {
	aside(func() { data, err = s.selectMailbox(name, options) })
	return data, err
}

// selectMailbox does the work of Select.
func (s *session) selectMailbox(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	mb, err := s.mailbox(name, errNoMailbox)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	// Changes committed so far reach the view before this session's
	// tracker exists, so they are not announced to it again afterwards.
	if err := s.srv.hub.sync(ctx); err != nil {
		s.srv.log.Error("sync changes", "err", err)
	}
	m, err := s.srv.hub.acquire(ctx, mb)
	if err != nil {
		return nil, s.internalError("select", err)
	}
	msgs, err := s.srv.st.Messages(ctx, mb.ID)
	if err != nil {
		s.srv.hub.release(m)
		return nil, s.internalError("select", err)
	}
	sel := &selected{mbox: m, name: mb.Name, readOnly: options.ReadOnly}
	if err := s.claimRecent(ctx, sel); err != nil {
		s.srv.hub.release(m)
		return nil, s.internalError("select", err)
	}
	m.mu.Lock()
	for _, msg := range msgs {
		m.announceLocked(msg.Flags) // to the sessions already here
	}
	sel.tracker = m.tracker.NewSession()
	if m.sessions == nil {
		m.sessions = make(map[*imapserver.SessionTracker]*selected)
	}
	m.sessions[sel.tracker] = sel
	flags := m.flagsLocked()
	data := &imap.SelectData{
		Flags:             flags,
		PermanentFlags:    append(flags[:len(flags):len(flags)], imap.FlagWildcard),
		NumMessages:       uint32(len(m.uids)),
		FirstUnseenSeqNum: firstUnseen(m.uids, msgs),
		UIDNext:           imap.UID(m.maxUID + 1),
		UIDValidity:       m.uidValidity,
	}
	m.mu.Unlock()
	data.HighestModSeq = s.highestModSeq(ctx, mb.ID) // read after the tracker is registered
	if options.ReadOnly {
		data.PermanentFlags = []imap.Flag{}
	}
	data.NumRecent = sel.recentCount()
	sel.recent.told = data.NumRecent
	s.selMu.Lock()
	s.sel = sel
	s.selMu.Unlock()
	return data, nil
}

// firstUnseen is the sequence number (in the view uids) of the first
// message without \Seen, or 0.
func firstUnseen(uids []uint32, msgs []store.Message) uint32 {
	unseen := make(map[uint32]bool)
	for _, m := range msgs {
		if !hasFlag(m.Flags, imap.FlagSeen) {
			unseen[m.UID] = true
		}
	}
	for i, u := range uids {
		if unseen[u] {
			return uint32(i + 1)
		}
	}
	return 0
}

// Create makes a mailbox and any missing superior names (RFC 3501 6.3.3).
// A new mailbox is subscribed only if its name was (CREATE does not
// subscribe, as in Dovecot).
func (s *session) Create(name string, options *imap.CreateOptions) error {
	name, err := checkName(name)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	for _, p := range append(parents(name), name) {
		_, err := s.srv.st.CreateMailbox(ctx, s.userID, p, "")
		switch {
		case errors.Is(err, store.ErrExists) && p == name:
			return errMailboxExists
		case errors.Is(err, store.ErrExists):
			continue
		case err != nil:
			return s.internalError("create mailbox", err)
		}
		if err := s.srv.st.AdoptSubscription(ctx, s.userID, p); err != nil {
			return s.internalError("create mailbox", err)
		}
	}
	return nil
}

// Delete removes a mailbox and its messages; INBOX cannot be deleted.
// Children stay, as RFC 3501 allows.
func (s *session) Delete(name string) error {
	mb, err := s.mailbox(name, errNoMailbox)
	if err != nil {
		return err
	}
	if mb.Name == "INBOX" {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "INBOX cannot be deleted"}
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.srv.st.DeleteMailbox(ctx, mb.ID); err != nil {
		return s.internalError("delete mailbox", err)
	}
	if mb.Subscribed { // the subscription outlives the mailbox
		if err := s.srv.st.Subscribe(ctx, s.userID, mb.Name, true); err != nil {
			return s.internalError("delete mailbox", err)
		}
	}
	return nil
}

// Rename renames a mailbox with its children; renaming INBOX moves its
// messages to the new mailbox and leaves INBOX empty.
func (s *session) Rename(oldName, newName string, options *imap.RenameOptions) error {
	old, err := checkName(oldName)
	if err != nil {
		return errNoMailbox
	}
	nw, err := checkName(newName)
	if err != nil {
		return err
	}
	if nw == "INBOX" || strings.HasPrefix(nw, old+string(delim)) {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Cannot rename to that name"}
	}
	if old == nw {
		return errMailboxExists
	}
	ctx, cancel := s.ctx()
	defer cancel()
	for _, p := range parents(nw) {
		if _, err := s.srv.st.CreateMailbox(ctx, s.userID, p, ""); err != nil && !errors.Is(err, store.ErrExists) {
			return s.internalError("rename mailbox", err)
		}
	}
	err = s.srv.st.RenameMailbox(ctx, s.userID, old, nw)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNoMailbox
	case errors.Is(err, store.ErrExists):
		return errMailboxExists
	case err != nil:
		return s.internalError("rename mailbox", err)
	}
	return nil
}

// Subscribe subscribes a name, which need not be a mailbox (yet), as
// Dovecot allows (RFC 3501 6.3.6).
func (s *session) Subscribe(name string) error { return s.subscribe(name, true) }

// Unsubscribe clears the subscription of a name.
func (s *session) Unsubscribe(name string) error { return s.subscribe(name, false) }

func (s *session) subscribe(name string, on bool) error {
	name, err := checkName(name)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.srv.st.Subscribe(ctx, s.userID, name, on); err != nil {
		return s.internalError("subscribe", err)
	}
	return nil
}

// Status reports a mailbox's counts.
func (s *session) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	mb, err := s.mailbox(name, errNoMailbox)
	if err != nil {
		return nil, err
	}
	return s.status(mb, options)
}

func (s *session) status(mb store.Mailbox, options *imap.StatusOptions) (*imap.StatusData, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	st, err := s.srv.st.Status(ctx, mb.ID)
	if err != nil {
		return nil, s.internalError("status", err)
	}
	data := &imap.StatusData{Mailbox: mb.Name}
	if options.NumMessages {
		data.NumMessages = &st.Messages
	}
	if options.NumRecent {
		n, err := s.srv.st.RecentUnclaimed(ctx, mb.ID)
		if err != nil {
			return nil, s.internalError("status", err)
		}
		if s.sel != nil && s.sel.mbox.id == mb.ID {
			n += s.sel.recentCount() // this session's own
		}
		data.NumRecent = &n
	}
	if options.UIDNext {
		data.UIDNext = imap.UID(st.UIDNext)
	}
	if options.UIDValidity {
		data.UIDValidity = st.UIDValidity
	}
	if options.NumUnseen {
		data.NumUnseen = &st.Unseen
	}
	if options.NumDeleted {
		data.NumDeleted = &st.Deleted
	}
	if options.Size {
		data.Size = &st.Size
	}
	if options.AppendLimit {
		data.AppendLimit = &s.srv.appendLimit
	}
	if options.HighestModSeq {
		data.HighestModSeq = s.highestModSeq(ctx, mb.ID)
	}
	return data, nil
}
