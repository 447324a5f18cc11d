package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// sendLogKeep is how many recent messages of an account send_log keeps.
const sendLogKeep = 50

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
}

// SendingState reads an account's limits, usage and suspension: account
// is a user's address, or a domain name for its domain-level credential.
func (s *Store) SendingState(ctx context.Context, account string) (SendingState, error) {
	st := SendingState{Account: account}
	if err := s.readOverrides(ctx, &st); err != nil {
		return st, fmt.Errorf("store: sending state of %s: %w", account, err)
	}
	u, err := s.sendUsage(ctx, account)
	if err != nil {
		return st, fmt.Errorf("store: sending state of %s: %w", account, err)
	}
	st.Usage = u
	return st, nil
}

const overrideCols = `limit_messages_per_hour, limit_recipients_per_day, limit_new_recipients_per_day`

func (s *Store) readOverrides(ctx context.Context, st *SendingState) error {
	var at int64
	var err error
	if strings.Contains(st.Account, "@") {
		var d LimitOverrides
		err = s.r.QueryRowContext(ctx, `SELECT u.suspended, u.suspended_at,
			u.limit_messages_per_hour, u.limit_recipients_per_day, u.limit_new_recipients_per_day,
			d.limit_messages_per_hour, d.limit_recipients_per_day, d.limit_new_recipients_per_day
			FROM users u JOIN domains d ON d.name = u.domain WHERE u.address = ?`, st.Account).Scan(
			&st.Suspended, &at, &st.Own.MessagesPerHour, &st.Own.RecipientsPerDay, &st.Own.NewRecipientsPerDay,
			&d.MessagesPerHour, &d.RecipientsPerDay, &d.NewRecipientsPerDay)
		st.Domain = d
	} else {
		err = s.r.QueryRowContext(ctx, `SELECT suspended, suspended_at, `+overrideCols+` FROM domains WHERE name = ?`,
			st.Account).Scan(&st.Suspended, &at, &st.Own.MessagesPerHour, &st.Own.RecipientsPerDay, &st.Own.NewRecipientsPerDay)
		st.Domain = st.Own
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if at != 0 {
		st.SuspendedAt = time.Unix(at, 0)
	}
	return err
}

// sendUsage reads the account's counts in the current windows: one
// indexed range of a few rows.
func (s *Store) sendUsage(ctx context.Context, account string) (SendUsage, error) {
	now := s.unix()
	hour, day := now-now%hourWindow, now-now%dayWindow
	u := SendUsage{HourEnd: time.Unix(hour+hourWindow, 0), DayEnd: time.Unix(day+dayWindow, 0)}
	rows, err := s.r.QueryContext(ctx, `SELECT kind, since, n FROM send_counts WHERE account = ? AND since >= ?`, account, day)
	if err != nil {
		return u, err
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var since, n int64
		if err := rows.Scan(&kind, &since, &n); err != nil {
			return u, err
		}
		switch {
		case kind == countMessages && since == hour:
			u.Messages = n
		case kind == countBounces && since == hour:
			u.Bounces = n
		case kind == countRecipients && since == day:
			u.Recipients = n
		case kind == countNewRecipients && since == day:
			u.NewRecipients = n
		}
	}
	return u, rows.Err()
}

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
// delivery's transaction, and prunes the account's old windows and log.
func countSendingTx(tx *sql.Tx, sn *Sending, now int64) error {
	added := int64(0)
	for _, r := range sn.Rcpts {
		res, err := tx.Exec(`INSERT INTO sent_to (account, rcpt, first) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, sn.Account, r, now)
		if err != nil {
			return fmt.Errorf("count sending of %s: %w", sn.Account, err)
		}
		n, _ := res.RowsAffected()
		added += n
	}
	hour, day := now-now%hourWindow, now-now%dayWindow
	for _, c := range []struct {
		kind  string
		since int64
		n     int64
	}{{countMessages, hour, 1}, {countRecipients, day, int64(len(sn.Rcpts))}, {countNewRecipients, day, added}} {
		if err := addCountTx(tx, sn.Account, c.kind, c.since, c.n); err != nil {
			return fmt.Errorf("count sending of %s: %w", sn.Account, err)
		}
	}
	_, err := tx.Exec(`INSERT INTO send_log (account, ip, subject, at) VALUES (?, ?, ?, ?)`, sn.Account, sn.IP, sn.Subject, now)
	if err == nil {
		_, err = tx.Exec(`DELETE FROM send_log WHERE account = ? AND id <= (SELECT id FROM send_log
			WHERE account = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, sn.Account, sn.Account, sendLogKeep)
	}
	if err == nil {
		_, err = tx.Exec(`DELETE FROM send_counts WHERE account = ? AND since < ?`, sn.Account, day)
	}
	if err != nil {
		return fmt.Errorf("count sending of %s: %w", sn.Account, err)
	}
	return nil
}

func addCountTx(tx *sql.Tx, account, kind string, since, n int64) error {
	if n == 0 {
		return nil
	}
	_, err := tx.Exec(`INSERT INTO send_counts (account, kind, since, n) VALUES (?, ?, ?, ?)
		ON CONFLICT DO UPDATE SET n = n + excluded.n`, account, kind, since, n)
	return err
}

// countBouncesTx counts a message from the null sender against each local
// user it is delivered to: backscatter of a spam run sent in their name.
func countBouncesTx(tx *sql.Tx, users []int64, now int64) error {
	hour := now - now%hourWindow
	for _, id := range users {
		if _, err := tx.Exec(`INSERT INTO send_counts (account, kind, since, n)
			SELECT address, ?, ?, 1 FROM users WHERE id = ?
			ON CONFLICT DO UPDATE SET n = n + 1`, countBounces, hour, id); err != nil {
			return fmt.Errorf("count bounce to user #%d: %w", id, err)
		}
		if _, err := tx.Exec(`DELETE FROM send_counts WHERE account = (SELECT address FROM users WHERE id = ?)
			AND kind = ? AND since < ?`, id, countBounces, hour); err != nil {
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
// newest first.
func (s *Store) RecentSends(ctx context.Context, account string, n int) ([]SendRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT ip, subject, at FROM send_log WHERE account = ? ORDER BY id DESC LIMIT ?`, account, n)
	if err != nil {
		return nil, fmt.Errorf("store: recent sends of %s: %w", account, err)
	}
	defer rows.Close()
	var out []SendRecord
	for rows.Next() {
		var r SendRecord
		var at int64
		if err := rows.Scan(&r.IP, &r.Subject, &at); err != nil {
			return nil, fmt.Errorf("store: recent sends of %s: %w", account, err)
		}
		r.At = time.Unix(at, 0)
		out = append(out, r)
	}
	return out, rows.Err()
}
