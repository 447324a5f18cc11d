package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// SuspendUser switches a user's SMTP authority off because of reason (an
// account over a sending limit), deletes the user's grants as turning it
// off by hand does, and records why. It reports false when the user had
// no SMTP authority already: of all the processes that see the same
// limit reached, exactly one suspends, and so only one notice goes out.
func (s *Store) SuspendUser(ctx context.Context, address, reason string) (bool, error) {
	return s.suspend(ctx, `UPDATE users SET smtp = 0, suspended = ?, suspended_at = ?
		WHERE address = ? AND smtp = 1`, address, reason, dropGrants)
}

// SuspendDomainCredential is SuspendUser for a domain-level credential:
// it is refused until a new password is set (SetDomainCredential).
func (s *Store) SuspendDomainCredential(ctx context.Context, domain, reason string) (bool, error) {
	return s.suspend(ctx, `UPDATE domains SET suspended = ?, suspended_at = ?
		WHERE name = ? AND suspended = '' AND smtp_hash != ''`, domain, reason)
}

func (s *Store) suspend(ctx context.Context, query, account, reason string, then ...string) (bool, error) {
	done := false
	err := s.credentialChange(s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(query, reason, s.unix(), account)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if done = n > 0; !done {
			return nil
		}
		for _, q := range then {
			if _, err := tx.Exec(q, account); err != nil {
				return err
			}
		}
		return nil
	}))
	if err != nil {
		return false, fmt.Errorf("store: suspend %s: %w", account, err)
	}
	return done, nil
}

// Statements that end a suspension, each taking the account: the counts
// go too, so the account does not trip over the same limit at once.
const (
	clearSuspension = `UPDATE users SET suspended = '', suspended_at = 0 WHERE address = ?`
	clearCounts     = `DELETE FROM send_counts WHERE account = ?`
)

// Statements that forget an account's sending history, each taking the
// account.
var forgetSending = []string{clearCounts, `DELETE FROM sent_to WHERE account = ?`}

// SetUserLimits changes a user's own sending limits: a nil field stays as
// it is, -1 goes back to the default, 0 is unlimited.
func (s *Store) SetUserLimits(ctx context.Context, address string, o LimitOverrides) error {
	return s.setLimits(ctx, "users", "address", address, o)
}

// SetDomainLimits is SetUserLimits for a domain: its limits bound its
// domain-level credential and are the defaults of its users.
func (s *Store) SetDomainLimits(ctx context.Context, domain string, o LimitOverrides) error {
	return s.setLimits(ctx, "domains", "name", domain, o)
}

func (s *Store) setLimits(ctx context.Context, table, key, name string, o LimitOverrides) error {
	var sets []string
	var args []any
	for _, f := range []struct {
		col string
		v   *int64
	}{{"limit_messages_per_hour", o.MessagesPerHour}, {"limit_recipients_per_day", o.RecipientsPerDay},
		{"limit_new_recipients_per_day", o.NewRecipientsPerDay}} {
		switch {
		case f.v == nil:
			continue
		case *f.v < 0:
			args = append(args, nil)
		default:
			args = append(args, *f.v)
		}
		sets = append(sets, f.col+" = ?")
	}
	if len(sets) == 0 {
		return nil
	}
	// table and key are constants of the two callers above.
	query := `UPDATE ` + table + ` SET ` + strings.Join(sets, ", ") + ` WHERE ` + key + ` = ?`
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(query, append(args, name)...)
		if err != nil {
			return fmt.Errorf("store: set limits of %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: set limits of %s: %w", name, ErrNotFound)
		}
		return nil
	})
}
