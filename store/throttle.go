package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// failureKeep is how long failure rows are kept; throttle windows are
// shorter than this.
const failureKeep = time.Hour

// RecordAuthFailure counts one failed login from ip for account. The count
// lives in the store so that pop3d, imapd and smtpd share it.
func (s *Store) RecordAuthFailure(ctx context.Context, ip, account string) error {
	if c, err := CanonIP(ip); err == nil {
		ip = c
	}
	now := s.unix()
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO auth_failures (key, at) VALUES (?, ?), (?, ?)`,
			"ip:"+ip, now, "acct:"+strings.ToLower(account), now); err != nil {
			return fmt.Errorf("store: record auth failure: %w", err)
		}
		if _, err := tx.Exec(`DELETE FROM auth_failures WHERE at < ?`, now-int64(failureKeep/time.Second)); err != nil {
			return fmt.Errorf("store: prune auth failures: %w", err)
		}
		return nil
	})
}

// AuthFailures counts the failures of ip and of account since the given
// time. A success elsewhere does not reset either count: they age out.
func (s *Store) AuthFailures(ctx context.Context, ip, account string, since time.Time) (ipCount, accountCount int, err error) {
	if c, err := CanonIP(ip); err == nil {
		ip = c
	}
	err = s.r.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM auth_failures WHERE key = ? AND at >= ?),
		(SELECT count(*) FROM auth_failures WHERE key = ? AND at >= ?)`,
		"ip:"+ip, since.Unix(), "acct:"+strings.ToLower(account), since.Unix()).Scan(&ipCount, &accountCount)
	if err != nil {
		return 0, 0, fmt.Errorf("store: count auth failures: %w", err)
	}
	return ipCount, accountCount, nil
}
