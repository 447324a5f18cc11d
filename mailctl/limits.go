package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"mailsuite/store"
)

// limitFlags are the flags of "user limits" and "domain limits", one per
// sending limit.
var limitFlags = []string{"messages-per-hour", "recipients-per-day", "new-recipients-per-day", "json"}

// userLimits sets a user's own sending limits from the flags given or,
// without flags, prints the limits in force with the usage and any
// suspension.
func userLimits(ctx context.Context, e *env, args []string) error {
	addr, err := store.CanonAddress(args[0])
	if err != nil {
		return err
	}
	return accountLimits(ctx, e, addr, e.st.SetUserLimits, unknownUser)
}

// domainLimits is userLimits for a domain: its limits bound the domain
// credential and are the defaults of its users.
func domainLimits(ctx context.Context, e *env, args []string) error {
	d, err := store.CanonDomain(args[0])
	if err != nil {
		return err
	}
	return accountLimits(ctx, e, d, e.st.SetDomainLimits, unknownDomain)
}

func accountLimits(ctx context.Context, e *env, account string,
	set func(context.Context, string, store.LimitOverrides) error, unknown func(string) error) error {
	o, err := e.inv.limitOverrides()
	if err != nil {
		return err
	}
	if o != (store.LimitOverrides{}) {
		if err := set(ctx, account, o); errors.Is(err, store.ErrNotFound) {
			return unknown(account)
		} else if err != nil {
			return err
		}
		return nil
	}
	st, err := e.st.SendingState(ctx, account)
	if errors.Is(err, store.ErrNotFound) {
		return unknown(account)
	} else if err != nil {
		return err
	}
	r := newLimitsRow(st, e.cfg.Relay.SendLimits(), e.cfg.Relay.MaxBouncesPerHour)
	if e.inv.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	}
	return record(e.stdout, r.fields()...)
}

// limitOverrides reads the limit flags given: a count, 0 or unlimited,
// or default (-1, back to the domain's or the configured value).
func (inv *invocation) limitOverrides() (store.LimitOverrides, error) {
	var o store.LimitOverrides
	for _, f := range []struct {
		name string
		val  string
		dst  **int64
	}{{"messages-per-hour", inv.messagesPerHour, &o.MessagesPerHour},
		{"recipients-per-day", inv.recipientsPerDay, &o.RecipientsPerDay},
		{"new-recipients-per-day", inv.newRecipientsPerDay, &o.NewRecipientsPerDay}} {
		if !inv.set[f.name] {
			continue
		}
		n, err := parseLimit(f.val)
		if err != nil {
			return o, usagef("--%s: %v", f.name, err)
		}
		*f.dst = &n
	}
	return o, nil
}

func parseLimit(s string) (int64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "default":
		return -1, nil
	case "unlimited", "none":
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a count, 0 or unlimited, or default; got %q", s)
	}
	return n, nil
}

// limitsRow is the output of "user limits" and "domain limits".
type limitsRow struct {
	Account string `json:"account"`
	// Limits are those in force; Source says where each comes from:
	// "own", "domain" or "default" (the configuration).
	Limits store.SendLimits `json:"limits"`
	Source limitSources     `json:"source"`
	Usage  limitsUsage      `json:"usage"`
	// MaxBounces is relay.max_bounces_per_hour for a user, 0 otherwise.
	MaxBounces  int64      `json:"max_bounces_per_hour"`
	Suspended   string     `json:"suspended"` // why, "" when not
	SuspendedAt *time.Time `json:"suspended_at"`
}

type limitSources struct {
	MessagesPerHour     string `json:"messages_per_hour"`
	RecipientsPerDay    string `json:"recipients_per_day"`
	NewRecipientsPerDay string `json:"new_recipients_per_day"`
}

type limitsUsage struct {
	Messages      int64     `json:"messages"`
	Recipients    int64     `json:"recipients"`
	NewRecipients int64     `json:"new_recipients"`
	Bounces       int64     `json:"bounces"`
	HourResets    time.Time `json:"hour_resets"`
	DayResets     time.Time `json:"day_resets"`
}

func newLimitsRow(st store.SendingState, defaults store.SendLimits, maxBounces int64) limitsRow {
	user := strings.Contains(st.Account, "@")
	source := func(own, domain *int64) string {
		switch {
		case own != nil && user:
			return "own"
		case domain != nil:
			return "domain"
		}
		return "default"
	}
	r := limitsRow{Account: st.Account, Limits: st.Limits(defaults),
		Source: limitSources{
			MessagesPerHour:     source(st.Own.MessagesPerHour, st.Domain.MessagesPerHour),
			RecipientsPerDay:    source(st.Own.RecipientsPerDay, st.Domain.RecipientsPerDay),
			NewRecipientsPerDay: source(st.Own.NewRecipientsPerDay, st.Domain.NewRecipientsPerDay),
		},
		Usage: limitsUsage{Messages: st.Usage.Messages, Recipients: st.Usage.Recipients,
			NewRecipients: st.Usage.NewRecipients, Bounces: st.Usage.Bounces,
			HourResets: st.Usage.HourEnd.UTC(), DayResets: st.Usage.DayEnd.UTC()},
		Suspended: st.Suspended}
	if user {
		r.MaxBounces = maxBounces
	}
	if st.Suspended != "" {
		at := st.SuspendedAt.UTC()
		r.SuspendedAt = &at
	}
	return r
}

// fields prints NAME=USED/LIMIT (SOURCE) per limit, then the suspension:
// "suspended=no" or "suspended=REASON since TIME".
func (r limitsRow) fields() []string {
	f := func(name string, used, limit int64, source string) string {
		l := "unlimited"
		if limit > 0 {
			l = strconv.FormatInt(limit, 10)
		}
		return fmt.Sprintf("%s=%d/%s (%s)", name, used, l, source)
	}
	out := []string{r.Account,
		f("messages-per-hour", r.Usage.Messages, r.Limits.MessagesPerHour, r.Source.MessagesPerHour),
		f("recipients-per-day", r.Usage.Recipients, r.Limits.RecipientsPerDay, r.Source.RecipientsPerDay),
		f("new-recipients-per-day", r.Usage.NewRecipients, r.Limits.NewRecipientsPerDay, r.Source.NewRecipientsPerDay)}
	if strings.Contains(r.Account, "@") {
		out = append(out, f("bounces-per-hour", r.Usage.Bounces, r.MaxBounces, "default"))
	}
	if r.SuspendedAt == nil {
		return append(out, "suspended=no")
	}
	return append(out, "suspended="+r.Suspended+" since "+r.SuspendedAt.Format(time.RFC3339))
}
