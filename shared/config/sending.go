package config

import "mailsuite/store"

// SendLimits is the default sending limits of the relay section, in the
// form the store's overrides apply over.
func (r RelayConfig) SendLimits() store.SendLimits {
	return store.SendLimits{
		MessagesPerHour:     r.MaxMessagesPerHour,
		RecipientsPerDay:    r.MaxRecipientsPerDay,
		NewRecipientsPerDay: r.MaxNewRecipientsPerDay,
	}
}
