package main

import (
	"context"
	"slices"

	"github.com/emersion/go-smtp"

	"mailsuite/smtpd/policy"
	"mailsuite/store"
)

// rcptQuota applies DecideRcptQuota to the users a recipient reaches.
func (s *session) rcptQuota(ctx context.Context, addr string, users []store.User) *smtp.SMTPError {
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	qs, err := policy.Quotas(ctx, s.srv.st, ids)
	if err != nil {
		return storeFailure(s.srv.log, "quota lookup", err, "rcpt", addr)
	}
	return policy.DecideRcptQuota(addr, qs, s.tx.size)
}

// dataQuota applies DecideDataQuota to the transaction's local users for
// a message of size bytes as it will be stored.
func (s *session) dataQuota(ctx context.Context, size int) *smtp.SMTPError {
	if len(s.tx.local) == 0 {
		return nil
	}
	qs, err := policy.Quotas(ctx, s.srv.st, s.tx.local)
	if err != nil {
		return storeFailure(s.srv.log, "quota lookup", err, "ip", s.ip)
	}
	others := len(s.tx.remote) > 0 || slices.ContainsFunc(s.tx.rcpts, policy.QuotaExempt)
	return policy.DecideDataQuota(qs, others, int64(size))
}
