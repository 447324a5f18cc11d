package main

import (
	"errors"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailsuite/store"
)

// quotaRoot is the one quota root of every user: all their mailboxes
// share the user's quota.
const quotaRoot = ""

var (
	errOverQuota = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota,
		Text: "Over quota: delete (and expunge) some mail first"}
	errLimit = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeLimit,
		Text: "Limit reached (too many mailboxes or keywords)"}
	errNoQuotaRoot = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent,
		Text: "No such quota root"}
)

// limitError returns the reply to a write the store refused by quota or
// limit (RFC 9208 OVERQUOTA, RFC 5530 LIMIT), or nil for any other error.
func (s *session) limitError(op string, err error) error {
	var reply *imap.Error
	switch {
	case errors.Is(err, store.ErrOverQuota):
		reply = errOverQuota
	case errors.Is(err, store.ErrLimit):
		reply = errLimit
	default:
		return nil
	}
	s.srv.log.Info(op+" refused", "user", s.login, "reply", string(reply.Code), "err", err)
	return reply
}

// QuotaResources: storage and message count, the two the store limits.
func (s *session) QuotaResources() []imap.QuotaResourceType {
	return []imap.QuotaResourceType{imap.QuotaResourceStorage, imap.QuotaResourceMessage}
}

// GetQuotaRoot answers for an existing mailbox: the user's root, or no
// root at all when the user has no limit.
func (s *session) GetQuotaRoot(mailbox string) ([]imapserver.QuotaData, error) {
	if _, err := s.mailbox(mailbox, errNoMailbox); err != nil {
		return nil, err
	}
	data, err := s.quota()
	if err != nil || data == nil {
		return nil, err
	}
	return []imapserver.QuotaData{*data}, nil
}

// GetQuota answers for the user's root only.
func (s *session) GetQuota(root string) (*imapserver.QuotaData, error) {
	if root != quotaRoot {
		return nil, errNoQuotaRoot
	}
	data, err := s.quota()
	if err == nil && data == nil {
		err = errNoQuotaRoot
	}
	return data, err
}

// quota reads the user's usage and limits; nil when nothing is limited.
func (s *session) quota() (*imapserver.QuotaData, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	q, err := s.srv.st.UserQuota(ctx, s.userID)
	if err != nil {
		return nil, s.internalError("quota", err)
	}
	data := quotaData(q)
	if len(data.Resources) == 0 {
		return nil, nil
	}
	return &data, nil
}

// quotaData turns the store's figures into RFC 9208 resources, leaving
// out those without a limit. STORAGE is in units of 1024 octets: usage
// rounds up, so a user at the limit never reads as below it.
func quotaData(q store.Quota) imapserver.QuotaData {
	data := imapserver.QuotaData{Root: quotaRoot}
	if q.StorageLimit > 0 {
		data.Resources = append(data.Resources, imapserver.QuotaResource{
			Type: imap.QuotaResourceStorage, Usage: (q.Bytes + 1023) / 1024, Limit: q.StorageLimit / 1024})
	}
	if q.MessageLimit > 0 {
		data.Resources = append(data.Resources, imapserver.QuotaResource{
			Type: imap.QuotaResourceMessage, Usage: q.Messages, Limit: q.MessageLimit})
	}
	return data
}
