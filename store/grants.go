package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Grant is a relay grant: the user logged in over POP3 or IMAP from IP,
// so smtpd relays for that IP until Expires (POP-before-SMTP).
type Grant struct {
	IP      string
	User    User
	Expires time.Time
}

// CanonIP returns the canonical text form of an IP address, so that an
// IPv4-mapped IPv6 peer ("::ffff:192.0.2.1") and the plain IPv4 address
// are the same grant key.
func CanonIP(ip string) (string, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "", fmt.Errorf("invalid IP address %q", ip)
	}
	return a.Unmap().WithZone("").String(), nil
}

// Grant records or refreshes a relay grant for (ip, user) lasting window
// from now. ip must be the TCP peer address, never anything a client said.
func (s *Store) Grant(ctx context.Context, ip string, userID int64, window time.Duration) error {
	ip, err := CanonIP(ip)
	if err != nil {
		return fmt.Errorf("store: grant: %w", err)
	}
	now := s.now()
	expires := now.Add(window).Unix()
	if fresh, err := s.grantFresh(ctx, ip, userID, expires-int64(window/60/time.Second), expires); err != nil || fresh {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO grants (ip, user_id, created, expires) VALUES (?, ?, ?, ?)
			ON CONFLICT (ip, user_id) DO UPDATE SET expires = excluded.expires`,
			ip, userID, now.Unix(), expires)
		if err != nil {
			return fmt.Errorf("store: grant %s to user #%d: %w", ip, userID, err)
		}
		// Keep the table small: expired grants are never read again.
		if _, err := tx.Exec(`DELETE FROM grants WHERE expires < ?`, now.Add(-24*time.Hour).Unix()); err != nil {
			return fmt.Errorf("store: prune grants: %w", err)
		}
		return nil
	})
}

// grantFresh reports whether (ip, user) already holds a grant expiring
// between from and to. Grant then leaves it alone: a client that polls
// every few seconds would otherwise cost a durable write, competing with
// deliveries for the store's write lock, per login, to move the expiry by
// less than a sixtieth of the window (30 s of the default 30 minutes; for
// windows under a minute only a write that would change nothing is left
// out).
func (s *Store) grantFresh(ctx context.Context, ip string, userID, from, to int64) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM grants WHERE ip = ? AND user_id = ? AND expires BETWEEN ? AND ?`,
		ip, userID, from, to).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: grant %s to user #%d: %w", ip, userID, err)
	}
	return true, nil
}

// LiveGrants returns the unexpired grants held by ip.
func (s *Store) LiveGrants(ctx context.Context, ip string) ([]Grant, error) {
	ip, err := CanonIP(ip)
	if err != nil {
		return nil, fmt.Errorf("store: live grants: %w", err)
	}
	return s.grants(ctx, `WHERE g.ip = ? AND g.expires > ?`, ip, s.unix())
}

// Grants lists every live grant, ordered by IP address, then user.
func (s *Store) Grants(ctx context.Context) ([]Grant, error) {
	return s.grants(ctx, `WHERE g.expires > ?`, s.unix())
}

func (s *Store) grants(ctx context.Context, where string, args ...any) ([]Grant, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT g.ip, g.expires, u.id, u.address, u.domain, u.hash, u.smtp
		FROM grants g JOIN users u ON u.id = g.user_id `+where+` ORDER BY g.ip, u.address`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list grants: %w", err)
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		var g Grant
		var exp int64
		if err := rows.Scan(&g.IP, &exp, &g.User.ID, &g.User.Address, &g.User.Domain, &g.User.Hash, &g.User.SMTP); err != nil {
			return nil, fmt.Errorf("store: list grants: %w", err)
		}
		g.Expires = time.Unix(exp, 0)
		out = append(out, g)
	}
	return out, rows.Err()
}

// RevokeGrants deletes every grant of ip and says how many there were.
func (s *Store) RevokeGrants(ctx context.Context, ip string) (int, error) {
	ip, err := CanonIP(ip)
	if err != nil {
		return 0, fmt.Errorf("store: revoke grants: %w", err)
	}
	var n int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`DELETE FROM grants WHERE ip = ? AND expires > ?`, ip, s.unix())
		if err != nil {
			return fmt.Errorf("store: revoke grants of %s: %w", ip, err)
		}
		n, _ = res.RowsAffected()
		_, err = tx.Exec(`DELETE FROM grants WHERE ip = ?`, ip)
		return err
	})
	return int(n), err
}
