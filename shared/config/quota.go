package config

import "mailsuite/store"

// Limits is the quota section in the form the store enforces.
func (q QuotaConfig) Limits() store.Limits {
	return store.Limits{
		Storage:   q.DefaultStorage,
		Messages:  q.MaxMessages,
		Mailboxes: q.MaxMailboxes,
		Keywords:  q.MaxKeywords,
	}
}
