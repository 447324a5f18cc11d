package store

import (
	"context"
	"database/sql"
	"fmt"
)

// UpgradeUserHash replaces a user's password hash by a stronger hash of
// the same password (an imported SHA-crypt or bcrypt hash re-hashed to
// argon2id at login). It writes only while the stored hash is still old,
// so a password changed meanwhile is kept. The password is the same, so
// unlike SetUserPassword it keeps grants and devices and does not move
// the credential stamp. It reports whether it wrote.
func (s *Store) UpgradeUserHash(ctx context.Context, address, old, new string) (bool, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE users SET hash = ? WHERE address = ? AND hash = ?`, new, address, old)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: upgrade password hash of %s: %w", address, err)
	}
	return n > 0, nil
}
