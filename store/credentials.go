package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// CredKind says what a login name is.
type CredKind int

const (
	// CredUser is a user-level credential: the full address. Valid for
	// POP3, IMAP and SMTP AUTH; may send as the address and its aliases.
	CredUser CredKind = iota + 1
	// CredDomain is a domain-level credential: the bare domain name. Valid
	// for SMTP AUTH only; may send as any address of the domain.
	CredDomain
)

// Credential is what a login name refers to.
type Credential struct {
	Kind   CredKind
	Name   string // canonical login name (address or domain)
	Domain string
	UserID int64 // CredUser only
	Hash   string
	SMTP   bool // may send mail
}

// Credential looks up a login name: an address is a user credential, a
// bare domain the domain-level credential (only when one is set).
// The name is canonicalised here (CanonLogin), so callers pass what the
// client sent.
func (s *Store) Credential(ctx context.Context, login string) (Credential, error) {
	name, err := CanonLogin(login)
	if err != nil {
		return Credential{}, fmt.Errorf("store: credential: %w", ErrNotFound)
	}
	if strings.Contains(name, "@") {
		u, err := s.UserByAddress(ctx, name)
		if err != nil {
			return Credential{}, err
		}
		return Credential{Kind: CredUser, Name: u.Address, Domain: u.Domain, UserID: u.ID, Hash: u.Hash, SMTP: u.SMTP}, nil
	}
	var hash, suspended string
	err = s.r.QueryRowContext(ctx, `SELECT smtp_hash, suspended FROM domains WHERE name = ?`, name).Scan(&hash, &suspended)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && hash == "") {
		return Credential{}, fmt.Errorf("store: credential %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("store: credential %s: %w", name, err)
	}
	return Credential{Kind: CredDomain, Name: name, Domain: name, Hash: hash, SMTP: suspended == ""}, nil
}
