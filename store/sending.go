package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// This file holds the outbound sending limits (migration 6): what each
// account relayed in the current windows, the per-user and per-domain
// overrides, and the suspension that switches SMTP authority off when an
// account goes over a limit. An account is a user's address or, for a
// domain-level credential, the domain name: the two count apart.
//
// smtpd reads the counts at RCPT TO (a reader query, no write) and the
// delivery's own transaction adds to them (deliverTx), so counting costs
// no extra commit. Sessions relaying for one account at the same moment
// may therefore each pass a check the other's message is about to fill:
// an account can go over a limit by what is in flight, never further.

// Send count kinds, as stored in send_counts.kind.
const (
	countMessages      = "messages"
	countRecipients    = "recipients"
	countNewRecipients = "new_recipients"
	countBounces       = "bounces"
)

// Window lengths: messages and bounces per clock hour, recipients per UTC
// day. Windows are fixed, so the reset time a refusal names is exact.
const (
	hourWindow = 3600
	dayWindow  = 86400
)

// recentMax bounds send_counts.recent in bytes: with the rest of the row
// it stays within what an index page holds in place (about 1000 bytes of
// a 4 KiB page), so adding to it writes no overflow page.
const recentMax = 700

// recentSubject bounds a subject in send_counts.recent, in bytes.
const recentSubject = 100

// SendLimits bound what one account may relay; 0 is unlimited.
type SendLimits struct {
	MessagesPerHour     int64 `json:"messages_per_hour"`
	RecipientsPerDay    int64 `json:"recipients_per_day"`
	NewRecipientsPerDay int64 `json:"new_recipients_per_day"`
}

// LimitOverrides are an account's own limits: nil takes the default, 0 is
// unlimited.
type LimitOverrides struct {
	MessagesPerHour     *int64 `json:"messages_per_hour"`
	RecipientsPerDay    *int64 `json:"recipients_per_day"`
	NewRecipientsPerDay *int64 `json:"new_recipients_per_day"`
}

// Over applies o over base.
func (o LimitOverrides) Over(base SendLimits) SendLimits {
	pick := func(p *int64, d int64) int64 {
		if p != nil {
			return *p
		}
		return d
	}
	return SendLimits{
		MessagesPerHour:     pick(o.MessagesPerHour, base.MessagesPerHour),
		RecipientsPerDay:    pick(o.RecipientsPerDay, base.RecipientsPerDay),
		NewRecipientsPerDay: pick(o.NewRecipientsPerDay, base.NewRecipientsPerDay),
	}
}

// SendUsage is what an account sent in the current windows.
type SendUsage struct {
	Messages      int64 // this clock hour
	Recipients    int64 // this UTC day
	NewRecipients int64 // this UTC day
	Bounces       int64 // received from <>, this clock hour
	// HourEnd and DayEnd are when the windows reset.
	HourEnd, DayEnd time.Time
}

// SendingState is an account's limits, usage and suspension.
type SendingState struct {
	Account string
	// Own are the account's overrides (a user's, or for a domain
	// credential the domain's); Domain are the domain's, the defaults of
	// its users. For a domain credential both are the domain's.
	Own, Domain LimitOverrides
	Usage       SendUsage
	// Suspended says why SMTP authority was switched off automatically;
	// "" when it was not.
	Suspended   string
	SuspendedAt time.Time
}

// Limits are the limits that apply, given the configured defaults.
func (st SendingState) Limits(defaults SendLimits) SendLimits {
	return st.Own.Over(st.Domain.Over(defaults))
}

// Sending is what Accept needs to count a relayed message against its
// account (see Envelope.Sending).
type Sending struct {
	Account string
	IP      string   // the client's address, for the suspension notice
	Subject string   // for the suspension notice
	Rcpts   []string // the canonical remote recipients
	// Fresh are those of Rcpts the account had not sent to when smtpd
	// checked: only they can be new, so only they are written.
	Fresh []string
}

// SendingState reads an account's limits, usage and suspension: account
// is a user's address, or a domain name for its domain-level credential.
// smtpd reads it once per relaying transaction: one query.
func (s *Store) SendingState(ctx context.Context, account string) (SendingState, error) {
	st, _, err := s.SendingStateTo(ctx, account, "")
	return st, err
}

// SendingStateTo is SendingState that also reports whether the account
// has relayed to rcpt (canonical) before, as SentBefore does: smtpd's
// one query at the first remote recipient of a transaction.
func (s *Store) SendingStateTo(ctx context.Context, account, rcpt string) (SendingState, bool, error) {
	now := s.unix()
	hour, day := now-now%hourWindow, now-now%dayWindow
	st := SendingState{Account: account}
	u := &st.Usage
	u.HourEnd, u.DayEnd = time.Unix(hour+hourWindow, 0), time.Unix(day+dayWindow, 0)
	query := sendingStateDomain
	if strings.Contains(account, "@") {
		query = sendingStateUser
	}
	var at int64
	var seen bool
	err := s.r.QueryRowContext(ctx, query, account, hour, day, countMessages, countBounces, countRecipients, countNewRecipients, rcpt).Scan(
		&st.Suspended, &at, &st.Own.MessagesPerHour, &st.Own.RecipientsPerDay, &st.Own.NewRecipientsPerDay,
		&st.Domain.MessagesPerHour, &st.Domain.RecipientsPerDay, &st.Domain.NewRecipientsPerDay,
		&u.Messages, &u.Bounces, &u.Recipients, &u.NewRecipients, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return st, false, fmt.Errorf("store: sending state of %s: %w", account, err)
	}
	if at != 0 {
		st.SuspendedAt = time.Unix(at, 0)
	}
	return st, seen, nil
}

// The sending state of a user (?1 the address) and of a domain credential
// (?1 the domain): suspension, own and domain overrides, the counts of
// the windows starting at ?2 (hour) and ?3 (day) of the kinds ?4 to ?7,
// and whether ?8 was sent to before.
const (
	sendingStateCounts = `,
	coalesce((SELECT n FROM send_counts WHERE account = ?1 AND kind = ?4 AND since = ?2), 0),
	coalesce((SELECT n FROM send_counts WHERE account = ?1 AND kind = ?5 AND since = ?2), 0),
	coalesce((SELECT n FROM send_counts WHERE account = ?1 AND kind = ?6 AND since = ?3), 0),
	coalesce((SELECT n FROM send_counts WHERE account = ?1 AND kind = ?7 AND since = ?3), 0),
	EXISTS (SELECT 1 FROM sent_to WHERE account = ?1 AND rcpt = ?8)`
	sendingStateUser = `SELECT u.suspended, u.suspended_at,
	u.limit_messages_per_hour, u.limit_recipients_per_day, u.limit_new_recipients_per_day,
	d.limit_messages_per_hour, d.limit_recipients_per_day, d.limit_new_recipients_per_day` + sendingStateCounts + `
	FROM users u JOIN domains d ON d.name = u.domain WHERE u.address = ?1`
	sendingStateDomain = `SELECT suspended, suspended_at,
	NULL, NULL, NULL, limit_messages_per_hour, limit_recipients_per_day, limit_new_recipients_per_day` + sendingStateCounts + `
	FROM domains WHERE name = ?1`
)

// SentBefore reports whether account has relayed to rcpt (canonical)
// before.
func (s *Store) SentBefore(ctx context.Context, account, rcpt string) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM sent_to WHERE account = ? AND rcpt = ?`, account, rcpt).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: sent before: %w", err)
	}
	return true, nil
}

// countSendingTx counts one relayed message against its account in the
// delivery's transaction: the recipients, then one statement for the
// three counts and the message's line in recent. One message in
// pruneEvery, at random, also prunes the account's old windows.
func countSendingTx(tx *sql.Tx, sn *Sending, now int64) error {
	added := int64(0)
	for _, r := range sn.Fresh {
		res, err := tx.Exec(`INSERT INTO sent_to (account, rcpt, first) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, sn.Account, r, now)
		if err != nil {
			return fmt.Errorf("count sending of %s: %w", sn.Account, err)
		}
		n, _ := res.RowsAffected()
		added += n
	}
	hour, day := now-now%hourWindow, now-now%dayWindow
	_, err := tx.Exec(`INSERT INTO send_counts (account, kind, since, n, recent)
		VALUES (?1, ?2, ?3, 1, ?9), (?1, ?4, ?5, ?6, ''), (?1, ?7, ?5, ?8, '')
		ON CONFLICT (account, kind, since) DO UPDATE SET n = send_counts.n + excluded.n,
		recent = CASE WHEN excluded.recent = '' THEN send_counts.recent
			ELSE substr(excluded.recent || ?11 || send_counts.recent, 1, ?10) END`,
		sn.Account, countMessages, hour, countRecipients, day, len(sn.Rcpts), countNewRecipients, added,
		recentLine(now, sn.IP, sn.Subject), recentMax, "\n")
	if err == nil && rand.IntN(pruneEvery) == 0 {
		_, err = tx.Exec(`DELETE FROM send_counts WHERE account = ? AND since < ?`, sn.Account, day-dayWindow)
	}
	if err != nil {
		return fmt.Errorf("count sending of %s: %w", sn.Account, err)
	}
	return nil
}

// pruneEvery is how many messages an account relays between prunes of
// its old windows, on average: pruning at every message would cost the
// writer a statement per message. (A query that returns the new count to
// decide costs more, through the driver, than the statement it saves.)
const pruneEvery = 32

// recentLine is one line of send_counts.recent.
func recentLine(at int64, ip, subject string) string {
	if len(subject) > recentSubject {
		subject = strings.ToValidUTF8(subject[:recentSubject], "")
	}
	subject = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, subject)
	return fmt.Sprintf("%d %s %s", at, ip, subject)
}

// countBouncesTx counts a message from the null sender against each local
// user it is delivered to: backscatter of a spam run sent in their name.
func countBouncesTx(tx *sql.Tx, users []int64, now int64) error {
	hour := now - now%hourWindow
	for _, id := range users {
		_, err := tx.Exec(`INSERT INTO send_counts (account, kind, since, n)
			SELECT address, ?, ?, 1 FROM users WHERE id = ?
			ON CONFLICT (account, kind, since) DO UPDATE SET n = send_counts.n + 1`, countBounces, hour, id)
		if err == nil && rand.IntN(pruneEvery) == 0 {
			_, err = tx.Exec(`DELETE FROM send_counts WHERE account = (SELECT address FROM users WHERE id = ?)
				AND kind = ? AND since < ?`, id, countBounces, hour)
		}
		if err != nil {
			return fmt.Errorf("count bounce to user #%d: %w", id, err)
		}
	}
	return nil
}

// BounceStorms returns the addresses of the users among ids that have
// received at least max bounces this hour and still have SMTP authority.
func (s *Store) BounceStorms(ctx context.Context, ids []int64, max int64) ([]string, error) {
	if max <= 0 {
		return nil, nil
	}
	now := s.unix()
	var out []string
	for _, id := range ids {
		var addr string
		err := s.r.QueryRowContext(ctx, `SELECT u.address FROM users u JOIN send_counts c
			ON c.account = u.address AND c.kind = ? AND c.since = ?
			WHERE u.id = ? AND u.smtp = 1 AND c.n >= ?`, countBounces, now-now%hourWindow, id, max).Scan(&addr)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("store: bounce count of user #%d: %w", id, err)
		}
		out = append(out, addr)
	}
	return out, nil
}

// SendRecord is one relayed message in an account's recent history.
type SendRecord struct {
	IP      string
	Subject string
	At      time.Time
}

// RecentSends returns up to n of the account's latest relayed messages,
// newest first, from the hour windows of the last day (see
// send_counts.recent).
func (s *Store) RecentSends(ctx context.Context, account string, n int) ([]SendRecord, error) {
	now := s.unix()
	rows, err := s.r.QueryContext(ctx, `SELECT recent FROM send_counts WHERE account = ? AND kind = ? AND since >= ?
		ORDER BY since DESC`, account, countMessages, now-now%hourWindow-dayWindow)
	if err != nil {
		return nil, fmt.Errorf("store: recent sends of %s: %w", account, err)
	}
	defer rows.Close()
	var out []SendRecord
	for rows.Next() && len(out) < n {
		var recent string
		if err := rows.Scan(&recent); err != nil {
			return nil, fmt.Errorf("store: recent sends of %s: %w", account, err)
		}
		out = append(out, parseRecent(recent, n-len(out))...)
	}
	return out, rows.Err()
}

// parseRecent reads up to n lines of send_counts.recent. The last line of
// a full one may have been cut: it is left out.
func parseRecent(recent string, n int) []SendRecord {
	lines := strings.Split(recent, "\n")
	if len(recent) >= recentMax {
		lines = lines[:len(lines)-1]
	}
	var out []SendRecord
	for _, l := range lines {
		at, rest, _ := strings.Cut(l, " ")
		ip, subject, _ := strings.Cut(rest, " ")
		t, err := strconv.ParseInt(at, 10, 64)
		if err != nil || len(out) == n {
			continue
		}
		out = append(out, SendRecord{IP: ip, Subject: subject, At: time.Unix(t, 0)})
	}
	return out
}
