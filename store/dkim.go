package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DKIMKey is one DKIM signing key of a local domain.
type DKIMKey struct {
	Domain    string
	Selector  string
	Algorithm string // "rsa" or "ed25519"
	// Private is the private key, PKCS #8 DER. The store keeps it as
	// given; smtpd parses it when it signs.
	Private []byte
	// Active: smtpd signs with this key. A domain has at most one active
	// key per algorithm.
	Active  bool
	Created time.Time
}

// ErrDKIMKeyActive refuses removing the key a domain signs with.
var ErrDKIMKeyActive = errors.New("the domain signs with this key")

// AddDKIMKey stores a new key. It becomes the active one when the domain
// has no active key of its algorithm yet (a domain's first key signs at
// once); otherwise it waits for UseDKIMKey, so it can be published in DNS
// before mail carries it. It reports whether the key is active.
func (s *Store) AddDKIMKey(ctx context.Context, k DKIMKey) (active bool, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		var domains, actives int
		if err := tx.QueryRow(`SELECT (SELECT count(*) FROM domains WHERE name = ?),
			(SELECT count(*) FROM dkim_keys WHERE domain = ? AND algorithm = ? AND active <> 0)`,
			k.Domain, k.Domain, k.Algorithm).Scan(&domains, &actives); err != nil {
			return err
		}
		if domains == 0 {
			return fmt.Errorf("domain %w", ErrNotFound)
		}
		active = actives == 0
		_, err := tx.Exec(`INSERT INTO dkim_keys (domain, selector, algorithm, private_key, active, created)
			VALUES (?, ?, ?, ?, ?, ?)`, k.Domain, k.Selector, k.Algorithm, k.Private, boolInt(active), s.unix())
		return err
	})
	switch {
	case isUnique(err):
		return false, fmt.Errorf("store: add DKIM key %s of %s: %w", k.Selector, k.Domain, ErrExists)
	case err != nil:
		return false, fmt.Errorf("store: add DKIM key %s of %s: %w", k.Selector, k.Domain, err)
	}
	return active, nil
}

// DKIMKeys lists the keys of domain, or of every domain when domain is
// "", by domain and selector.
func (s *Store) DKIMKeys(ctx context.Context, domain string) ([]DKIMKey, error) {
	return s.dkimKeys(ctx, `SELECT domain, selector, algorithm, private_key, active, created FROM dkim_keys
		WHERE ? IN ('', domain) ORDER BY domain, selector`, domain)
}

// SigningKeys returns the active keys of domain, RSA first: the order of
// the signatures smtpd adds. None when the domain signs nothing.
func (s *Store) SigningKeys(ctx context.Context, domain string) ([]DKIMKey, error) {
	return s.dkimKeys(ctx, `SELECT domain, selector, algorithm, private_key, active, created FROM dkim_keys
		WHERE domain = ? AND active <> 0 ORDER BY CASE WHEN algorithm = 'rsa' THEN 0 ELSE 1 END, selector`, domain)
}

func (s *Store) dkimKeys(ctx context.Context, query, domain string) ([]DKIMKey, error) {
	rows, err := s.r.QueryContext(ctx, query, domain)
	if err != nil {
		return nil, fmt.Errorf("store: DKIM keys of %q: %w", domain, err)
	}
	defer rows.Close()
	var out []DKIMKey
	for rows.Next() {
		var k DKIMKey
		var created int64
		if err := rows.Scan(&k.Domain, &k.Selector, &k.Algorithm, &k.Private, &k.Active, &created); err != nil {
			return nil, fmt.Errorf("store: DKIM keys of %q: %w", domain, err)
		}
		k.Created = time.Unix(created, 0).UTC()
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: DKIM keys of %q: %w", domain, err)
	}
	return out, nil
}

// UseDKIMKey makes a key the one its domain signs with for its algorithm;
// the key that signed before stays stored, inactive, until it is removed.
func (s *Store) UseDKIMKey(ctx context.Context, domain, selector string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var alg string
		err := tx.QueryRow(`SELECT algorithm FROM dkim_keys WHERE domain = ? AND selector = ?`, domain, selector).Scan(&alg)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: use DKIM key %s of %s: %w", selector, domain, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: use DKIM key %s of %s: %w", selector, domain, err)
		}
		if _, err := tx.Exec(`UPDATE dkim_keys SET active = 0 WHERE domain = ? AND algorithm = ? AND active <> 0`, domain, alg); err != nil {
			return fmt.Errorf("store: use DKIM key %s of %s: %w", selector, domain, err)
		}
		if _, err := tx.Exec(`UPDATE dkim_keys SET active = 1 WHERE domain = ? AND selector = ?`, domain, selector); err != nil {
			return fmt.Errorf("store: use DKIM key %s of %s: %w", selector, domain, err)
		}
		return nil
	})
}

// RemoveDKIMKey deletes a key. The active key is refused
// (ErrDKIMKeyActive) unless force is set: removing it stops the domain's
// signatures of that algorithm.
func (s *Store) RemoveDKIMKey(ctx context.Context, domain, selector string, force bool) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var active bool
		err := tx.QueryRow(`SELECT active FROM dkim_keys WHERE domain = ? AND selector = ?`, domain, selector).Scan(&active)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("store: remove DKIM key %s of %s: %w", selector, domain, ErrNotFound)
		case err != nil:
			return fmt.Errorf("store: remove DKIM key %s of %s: %w", selector, domain, err)
		case active && !force:
			return fmt.Errorf("store: remove DKIM key %s of %s: %w", selector, domain, ErrDKIMKeyActive)
		}
		if _, err := tx.Exec(`DELETE FROM dkim_keys WHERE domain = ? AND selector = ?`, domain, selector); err != nil {
			return fmt.Errorf("store: remove DKIM key %s of %s: %w", selector, domain, err)
		}
		return nil
	})
}
