package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Login is the latest successful login of an account by one protocol from
// one client address.
type Login struct {
	Proto string // "pop3", "imap", "smtp"
	IP    string
	Last  time.Time
}

// recordLoginTx records a successful login in AttemptSucceeded's
// transaction and drops the rows older than keep.
func recordLoginTx(tx *sql.Tx, a Attempt, proto string, now, keep int64) error {
	if _, err := tx.Exec(`INSERT INTO logins (account, proto, ip, last) VALUES (?, ?, ?, ?)
		ON CONFLICT (account, proto, ip) DO UPDATE SET last = excluded.last WHERE excluded.last - logins.last >= 60`,
		a.account, proto, a.peer, now); err != nil {
		return fmt.Errorf("store: record login: %w", err)
	}
	if _, err := tx.Exec(`DELETE FROM logins WHERE last < ?`, keep); err != nil {
		return fmt.Errorf("store: prune logins: %w", err)
	}
	return nil
}

// Logins lists the recorded successful logins of an account (a canonical
// login name: an address, or a domain for its SMTP credential), latest
// first. Times are exact to a minute.
func (s *Store) Logins(ctx context.Context, account string) ([]Login, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT proto, ip, last FROM logins WHERE account = ?
		ORDER BY last DESC, proto, ip`, account)
	if err != nil {
		return nil, fmt.Errorf("store: logins of %s: %w", account, err)
	}
	defer rows.Close()
	var out []Login
	for rows.Next() {
		var l Login
		var last int64
		if err := rows.Scan(&l.Proto, &l.IP, &last); err != nil {
			return nil, fmt.Errorf("store: logins of %s: %w", account, err)
		}
		l.Last = time.Unix(last, 0)
		out = append(out, l)
	}
	return out, rows.Err()
}
