package main

import (
	"context"
	"slices"

	"github.com/emersion/go-smtp"

	"mailsuite/store"
)

// quotas reads the usage and limits of local users: one row each.
func (s *session) quotas(ctx context.Context, ids []int64) ([]store.Quota, error) {
	out := make([]store.Quota, 0, len(ids))
	for _, id := range ids {
		q, err := s.srv.st.UserQuota(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

// rcptQuota applies DecideRcptQuota to the users a recipient reaches.
func (s *session) rcptQuota(ctx context.Context, addr string, users []store.User) *smtp.SMTPError {
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	qs, err := s.quotas(ctx, ids)
	if err != nil {
		return storeFailure(s.srv.log, "quota lookup", err, "rcpt", addr)
	}
	return DecideRcptQuota(addr, qs, s.tx.size)
}

// dataQuota applies DecideDataQuota to the transaction's local users for
// a message of size bytes as it will be stored.
func (s *session) dataQuota(ctx context.Context, size int) *smtp.SMTPError {
	if len(s.tx.local) == 0 {
		return nil
	}
	qs, err := s.quotas(ctx, s.tx.local)
	if err != nil {
		return storeFailure(s.srv.log, "quota lookup", err, "ip", s.ip)
	}
	others := len(s.tx.remote) > 0 || slices.ContainsFunc(s.tx.rcpts, quotaExempt)
	return DecideDataQuota(qs, others, int64(size))
}
