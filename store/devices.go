package store

import (
	"context"
	"fmt"
	"time"
)

// SendingDisabledOn reports whether address is a user without SMTP
// authority who logged in from ip (a known device of the account, see
// AttemptSucceeded) since the given time. smtpd asks it before refusing a
// client without AUTH or grant that sends as such a user: she reads her
// mail from there, so "log in first" would send her in circles; the
// answer is that sending is disabled for her account.
func (s *Store) SendingDisabledOn(ctx context.Context, ip, address string, since time.Time) (bool, error) {
	var yes bool
	err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users u
		JOIN known_devices d ON d.account = u.address
		WHERE u.address = ? AND u.smtp = 0 AND d.ip = ? AND d.last >= ?)`,
		address, ClientKey(ip), since.Unix()).Scan(&yes)
	if err != nil {
		return false, fmt.Errorf("store: known device of %s: %w", address, err)
	}
	return yes, nil
}
