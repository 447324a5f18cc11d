package main

import (
	"io"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailsuite/store"
)

// Append stores a message in a mailbox (UIDPLUS APPENDUID). imapserver has
// already refused a literal above AppendLimit before reading it.
func (s *session) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	mb, err := s.mailbox(mailbox, errTryCreate)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(r, int64(s.srv.appendLimit)+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > int64(s.srv.appendLimit) {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig, Text: "Message too big"}
	}
	date := options.Time
	if date.IsZero() {
		date = time.Now()
	}
	ctx, cancel := s.ctx()
	defer cancel()
	uid, err := s.srv.st.Append(ctx, mb.ID, storeFlags(options.Flags), date, store.CRLF(body))
	if err != nil {
		return nil, s.internalError("append", err)
	}
	return &imap.AppendData{UIDValidity: mb.UIDValidity, UID: imap.UID(uid)}, nil
}
