package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Domain is a local domain.
type Domain struct {
	Name        string
	HasSMTPCred bool // a domain-level SMTP credential is set
}

// User is a local user.
type User struct {
	ID      int64
	Address string
	Domain  string
	Hash    string // password hash (self-describing string)
	SMTP    bool   // may send mail (SMTP authority)
}

// DefaultMailboxes are created with every user, with their SPECIAL-USE
// attributes (RFC 6154).
var DefaultMailboxes = []struct{ Name, SpecialUse string }{
	{"INBOX", ""},
	{"Sent", `\Sent`},
	{"Drafts", `\Drafts`},
	{"Trash", `\Trash`},
	{"Junk", `\Junk`},
}

// AddDomain adds a local domain (name must be canonical, see CanonDomain).
func (s *Store) AddDomain(ctx context.Context, name string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO domains (name, created) VALUES (?, ?)`, name, s.unix())
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("store: add domain %s: %w", name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("store: add domain %s: %w", name, err)
	}
	return nil
}

// ErrDomainInUse is returned when removing a domain that still has users
// or aliases.
var ErrDomainInUse = errors.New("domain still has users or aliases")

// RemoveDomain removes a local domain that has no users and no aliases.
func (s *Store) RemoveDomain(ctx context.Context, name string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRow(`SELECT (SELECT count(*) FROM users WHERE domain = ?) + (SELECT count(*) FROM aliases WHERE domain = ?)`, name, name).Scan(&n); err != nil {
			return fmt.Errorf("store: remove domain %s: %w", name, err)
		}
		if n > 0 {
			return fmt.Errorf("store: remove domain %s: %w", name, ErrDomainInUse)
		}
		for _, q := range forgetSending {
			if _, err := tx.Exec(q, name); err != nil {
				return fmt.Errorf("store: remove domain %s: %w", name, err)
			}
		}
		res, err := tx.Exec(`DELETE FROM domains WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("store: remove domain %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: remove domain %s: %w", name, ErrNotFound)
		}
		return nil
	})
}

// Domains lists the local domains by name.
func (s *Store) Domains(ctx context.Context) ([]Domain, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, smtp_hash != '' FROM domains ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list domains: %w", err)
	}
	defer rows.Close()
	var out []Domain
	for rows.Next() {
		var d Domain
		if err := rows.Scan(&d.Name, &d.HasSMTPCred); err != nil {
			return nil, fmt.Errorf("store: list domains: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// IsLocalDomain reports whether name (canonical) is a local domain.
func (s *Store) IsLocalDomain(ctx context.Context, name string) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM domains WHERE name = ?`, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: look up domain %s: %w", name, err)
	}
	return true, nil
}

// SetDomainCredential sets (hash != "") or disables (hash == "") the
// domain-level SMTP credential, forgetting its known devices. Either ends
// a suspension (SuspendDomainCredential) and clears the credential's
// sending counts: a stolen password is replaced, not forgiven.
func (s *Store) SetDomainCredential(ctx context.Context, domain, hash string) error {
	return s.credentialChange(s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE domains SET smtp_hash = ?, suspended = '', suspended_at = 0 WHERE name = ?`, hash, domain)
		if err != nil {
			return fmt.Errorf("store: set credential of %s: %w", domain, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: set credential of %s: domain %w", domain, ErrNotFound)
		}
		for _, q := range []string{dropDevices, clearCounts} {
			if _, err := tx.Exec(q, domain); err != nil {
				return fmt.Errorf("store: set credential of %s: %w", domain, err)
			}
		}
		return nil
	}))
}

// AddUser creates a user (address canonical, domain local) with the
// default mailboxes.
func (s *Store) AddUser(ctx context.Context, address, hash string, smtp bool) (int64, error) {
	_, domain := SplitAddress(address)
	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRow(`SELECT 1 FROM domains WHERE name = ?`, domain).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: add user %s: domain %s is not local: %w", address, domain, ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("store: add user %s: %w", address, err)
		}
		if err := tx.QueryRow(`SELECT 1 FROM aliases WHERE source = ?`, address).Scan(&one); err == nil {
			return fmt.Errorf("store: add user %s: an alias of that name %w", address, ErrExists)
		}
		err := tx.QueryRow(`INSERT INTO users (address, domain, hash, smtp, created) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			address, domain, hash, boolInt(smtp), s.unix()).Scan(&id)
		if isUnique(err) {
			return fmt.Errorf("store: add user %s: %w", address, ErrExists)
		}
		if err != nil {
			return fmt.Errorf("store: add user %s: %w", address, err)
		}
		for _, mb := range DefaultMailboxes {
			if _, err := createMailboxTx(tx, id, mb.Name, mb.SpecialUse); err != nil {
				return fmt.Errorf("store: add user %s: %w", address, err)
			}
		}
		return nil
	})
	return id, err
}

// Statements that end what a user's old password or SMTP authority gave:
// each takes the address.
const (
	dropGrants  = `DELETE FROM grants WHERE user_id = (SELECT id FROM users WHERE address = ?)`
	dropDevices = `DELETE FROM known_devices WHERE account = ?`
	dropLogins  = `DELETE FROM logins WHERE account = ?`
)

// SetUserPassword replaces a user's password hash. The relay grants and
// known devices that logins with the old password earned go with it: the
// password may have been changed because someone else knew it.
func (s *Store) SetUserPassword(ctx context.Context, address, hash string) error {
	return s.updateUser(ctx, address, `UPDATE users SET hash = ? WHERE address = ?`, hash, dropGrants, dropDevices)
}

// SetUserSMTP sets a user's SMTP authority. Turning it off also deletes
// the user's relay grants, which exist to let the user send; turning it
// on ends a suspension (SuspendUser) and clears the user's sending counts.
func (s *Store) SetUserSMTP(ctx context.Context, address string, on bool) error {
	if on {
		return s.updateUser(ctx, address, `UPDATE users SET smtp = ? WHERE address = ?`, 1, clearSuspension, clearCounts)
	}
	return s.updateUser(ctx, address, `UPDATE users SET smtp = ? WHERE address = ?`, 0, dropGrants)
}

// updateUser runs query with v and address, then each of then with the
// address, in one transaction.
func (s *Store) updateUser(ctx context.Context, address, query string, v any, then ...string) error {
	return s.credentialChange(s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(query, v, address)
		if err != nil {
			return fmt.Errorf("store: update user %s: %w", address, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: update user %s: %w", address, ErrNotFound)
		}
		for _, q := range then {
			if _, err := tx.Exec(q, address); err != nil {
				return fmt.Errorf("store: update user %s: %w", address, err)
			}
		}
		return nil
	}))
}

// RemoveUser deletes a user with all mailboxes, messages, grants, known
// devices and recorded logins.
func (s *Store) RemoveUser(ctx context.Context, address string) error {
	return s.credentialChange(s.write(ctx, func(tx *sql.Tx) error {
		for _, q := range append([]string{dropDevices, dropLogins}, forgetSending...) {
			if _, err := tx.Exec(q, address); err != nil {
				return fmt.Errorf("store: remove user %s: %w", address, err)
			}
		}
		res, err := tx.Exec(`DELETE FROM users WHERE address = ?`, address)
		if err != nil {
			return fmt.Errorf("store: remove user %s: %w", address, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: remove user %s: %w", address, ErrNotFound)
		}
		return nil
	}))
}

// credentialChange moves the credential stamp after a committed change of
// a credential (err == nil), so open sessions re-check theirs.
func (s *Store) credentialChange(err error) error {
	if err != nil {
		return err
	}
	return s.touchCredentials()
}

const userCols = `id, address, domain, hash, smtp`

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var u User
	err := sc.Scan(&u.ID, &u.Address, &u.Domain, &u.Hash, &u.SMTP)
	return u, err
}

// UserByAddress looks up a user by canonical address.
func (s *Store) UserByAddress(ctx context.Context, address string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE address = ?`, address))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: user %s: %w", address, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user %s: %w", address, err)
	}
	return u, nil
}

// Users lists users, all of them or those of one domain ("" = all).
func (s *Store) Users(ctx context.Context, domain string) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE ? = '' OR domain = ? ORDER BY domain, address`, domain, domain)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
