package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// This file holds what bounds one user: the storage quota (bytes and
// messages, counted by the triggers of migration 3) and the limits on
// mailboxes and keywords. Checks that guard a write run inside its
// transaction, so a limit is checked and counted in one step.

// ErrOverQuota is returned by a write that would take a user over their
// storage or message quota (imapd answers NO [OVERQUOTA]).
var ErrOverQuota = errors.New("over quota")

// ErrLimit is returned by a write that would take a user over a mailbox or
// keyword limit (imapd answers NO [LIMIT]).
var ErrLimit = errors.New("limit reached")

// Limits bound what one user may hold; zero means unlimited. They come
// from the [quota] section of the configuration (see config.QuotaConfig).
type Limits struct {
	// Storage is the default storage quota in bytes, for users without a
	// quota of their own (see SetUserQuota).
	Storage int64
	// Messages is the most messages a user may hold.
	Messages int64
	// Mailboxes is the most mailboxes a user may have.
	Mailboxes int
	// Keywords is the most distinct keywords in use in one mailbox.
	Keywords int
}

// WithLimits sets the limits the store enforces and reports.
func WithLimits(l Limits) Option {
	return func(s *Store) { s.limits = l }
}

// Quota is a user's usage and limits. A limit of 0 is unlimited.
type Quota struct {
	Bytes        int64 // size of all the user's messages
	Messages     int64
	StorageLimit int64 // bytes
	MessageLimit int64
	// Own says the storage limit is the user's own, not the default.
	Own bool
}

// Fits reports whether one more message of size bytes stays within the
// quota.
func (q Quota) Fits(size int64) bool {
	return (q.StorageLimit == 0 || q.Bytes+size <= q.StorageLimit) &&
		(q.MessageLimit == 0 || q.Messages+1 <= q.MessageLimit)
}

// Full reports whether the user is at or over a limit: not even an empty
// message fits.
func (q Quota) Full() bool {
	return (q.StorageLimit > 0 && q.Bytes >= q.StorageLimit) ||
		(q.MessageLimit > 0 && q.Messages >= q.MessageLimit)
}

// over reports whether usage exceeds a limit, which a write must not
// cause.
func (q Quota) over() bool {
	return (q.StorageLimit > 0 && q.Bytes > q.StorageLimit) ||
		(q.MessageLimit > 0 && q.Messages > q.MessageLimit)
}

const quotaQuery = `SELECT g.bytes, g.messages, u.quota_storage
	FROM users u JOIN user_usage g ON g.user_id = u.id WHERE u.id = ?`

// UserQuota returns a user's usage and limits: one row, kept by triggers.
func (s *Store) UserQuota(ctx context.Context, userID int64) (Quota, error) {
	q, err := s.scanQuota(s.r.QueryRowContext(ctx, quotaQuery, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return q, fmt.Errorf("store: quota of user #%d: %w", userID, ErrNotFound)
	}
	if err != nil {
		return q, fmt.Errorf("store: quota of user #%d: %w", userID, err)
	}
	return q, nil
}

func (s *Store) scanQuota(row *sql.Row) (Quota, error) {
	var q Quota
	var own sql.NullInt64
	if err := row.Scan(&q.Bytes, &q.Messages, &own); err != nil {
		return q, err
	}
	q.StorageLimit, q.Own = s.limits.Storage, own.Valid
	if own.Valid {
		q.StorageLimit = own.Int64
	}
	q.MessageLimit = s.limits.Messages
	return q, nil
}

// SetUserQuota sets a user's own storage quota in bytes (0: unlimited);
// a negative limit returns the user to the configured default.
func (s *Store) SetUserQuota(ctx context.Context, address string, limit int64) error {
	var v any = limit
	if limit < 0 {
		v = nil
	}
	return s.updateUser(ctx, address, `UPDATE users SET quota_storage = ? WHERE address = ?`, v)
}

const quotaByMailbox = `SELECT g.bytes, g.messages, u.quota_storage
	FROM mailboxes b JOIN users u ON u.id = b.user_id JOIN user_usage g ON g.user_id = u.id
	WHERE b.id = ?`

// checkQuotaTx fails with ErrOverQuota when the owner of mailboxID is now
// over quota. Writers that add messages (APPEND, COPY) call it after
// inserting, inside their transaction, so a refused write is rolled back
// whole. Moves and expunges never fail on quota: they are how a user
// over quota makes room.
func (s *Store) checkQuotaTx(tx *sql.Tx, mailboxID int64) error {
	q, err := s.scanQuota(tx.QueryRow(quotaByMailbox, mailboxID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil // no such mailbox: the insert has failed already
	}
	if err != nil {
		return err
	}
	if q.over() {
		return ErrOverQuota
	}
	return nil
}

// checkMailboxesTx fails with ErrLimit when the user has more mailboxes
// than allowed. Creators call it after the insert, so that creating a
// mailbox that exists still fails with ErrExists.
func (s *Store) checkMailboxesTx(tx *sql.Tx, userID int64) error {
	if s.limits.Mailboxes == 0 {
		return nil
	}
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM mailboxes WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return err
	}
	if n > s.limits.Mailboxes {
		return fmt.Errorf("%d mailboxes: %w", n, ErrLimit)
	}
	return nil
}

// checkKeywordsTx fails with ErrLimit when setting flags on messages of
// a mailbox would bring more distinct keywords into use there than
// allowed, and records the new ones in mailbox_keywords. Keywords already
// in use never count again, so a mailbox over the limit (the limit was
// lowered) still takes them. System flags cost nothing; the flags of the
// whole mailbox are read only when the recorded set would exceed the
// limit, to drop keywords no message carries any more.
func (s *Store) checkKeywordsTx(tx *sql.Tx, mailboxID int64, flags []string) error {
	max := s.limits.Keywords
	kws := keywords(flags)
	if max == 0 || len(kws) == 0 {
		return nil
	}
	if len(kws) > max {
		return fmt.Errorf("%d keywords: %w", len(kws), ErrLimit)
	}
	recorded, err := recordedKeywordsTx(tx, mailboxID)
	if err != nil {
		return err
	}
	fresh := missing(kws, recorded)
	if len(fresh) == 0 {
		return nil
	}
	if len(recorded)+len(fresh) > max {
		if recorded, err = rebuildKeywordsTx(tx, mailboxID); err != nil {
			return err
		}
		if fresh = missing(kws, recorded); len(recorded)+len(fresh) > max && len(fresh) > 0 {
			return fmt.Errorf("%d keywords in mailbox #%d: %w", len(recorded)+len(fresh), mailboxID, ErrLimit)
		}
	}
	return recordKeywordsTx(tx, mailboxID, fresh)
}

// missing lists the members of set not in have.
func missing(set, have map[string]bool) []string {
	var out []string
	for k := range set {
		if !have[k] {
			out = append(out, k)
		}
	}
	return out
}

func recordedKeywordsTx(tx *sql.Tx, mailboxID int64) (map[string]bool, error) {
	rows, err := tx.Query(`SELECT keyword FROM mailbox_keywords WHERE mailbox_id = ?`, mailboxID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := make(map[string]bool)
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		set[k] = true
	}
	return set, rows.Err()
}

func recordKeywordsTx(tx *sql.Tx, mailboxID int64, kws []string) error {
	for _, k := range kws {
		if _, err := tx.Exec(`INSERT INTO mailbox_keywords (mailbox_id, keyword) VALUES (?, ?) ON CONFLICT DO NOTHING`, mailboxID, k); err != nil {
			return err
		}
	}
	return nil
}

// rebuildKeywordsTx replaces a mailbox's recorded keywords with those its
// messages carry.
func rebuildKeywordsTx(tx *sql.Tx, mailboxID int64) (map[string]bool, error) {
	inUse, err := keywordsInUseTx(tx, mailboxID)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`DELETE FROM mailbox_keywords WHERE mailbox_id = ?`, mailboxID); err != nil {
		return nil, err
	}
	return inUse, recordKeywordsTx(tx, mailboxID, missing(inUse, nil))
}

// keywords is the set of keywords (not system flags) among flags, in
// lower case: keywords compare case-insensitively.
func keywords(flags []string) map[string]bool {
	set := make(map[string]bool)
	for _, f := range flags {
		if f != "" && !strings.HasPrefix(f, `\`) {
			set[strings.ToLower(f)] = true
		}
	}
	return set
}

func keywordsInUseTx(tx *sql.Tx, mailboxID int64) (map[string]bool, error) {
	rows, err := tx.Query(`SELECT DISTINCT flags FROM messages WHERE mailbox_id = ? AND flags != ''`, mailboxID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := make(map[string]bool)
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, err
		}
		for k := range keywords(splitFlags(f)) {
			set[k] = true
		}
	}
	return set, rows.Err()
}
