package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// maxAliasDepth bounds alias expansion; chains deeper than this are
// refused when added.
const maxAliasDepth = 10

// ErrAliasLoop is returned when an alias would make a cycle.
var ErrAliasLoop = errors.New("alias loop")

// Alias maps a source address to a target address.
type Alias struct{ Source, Target string }

// AddAlias adds source → target. source must be in a local domain and
// must not be a user; target may be local or remote. Loops are refused.
func (s *Store) AddAlias(ctx context.Context, source, target string) error {
	_, domain := SplitAddress(source)
	return s.write(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRow(`SELECT 1 FROM domains WHERE name = ?`, domain).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: add alias %s: domain %s is not local: %w", source, domain, ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("store: add alias %s: %w", source, err)
		}
		if err := tx.QueryRow(`SELECT 1 FROM users WHERE address = ?`, source).Scan(&one); err == nil {
			return fmt.Errorf("store: add alias %s: a user of that name %w", source, ErrExists)
		}
		_, err := tx.Exec(`INSERT INTO aliases (source, domain, target) VALUES (?, ?, ?)`, source, domain, target)
		if isUnique(err) {
			return fmt.Errorf("store: add alias %s → %s: %w", source, target, ErrExists)
		}
		if err != nil {
			return fmt.Errorf("store: add alias %s: %w", source, err)
		}
		if _, err := resolveTx(ctx, tx, source); err != nil {
			return fmt.Errorf("store: add alias %s → %s: %w", source, target, err)
		}
		return nil
	})
}

// RemoveAlias removes source → target.
func (s *Store) RemoveAlias(ctx context.Context, source, target string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`DELETE FROM aliases WHERE source = ? AND target = ?`, source, target)
		if err != nil {
			return fmt.Errorf("store: remove alias %s: %w", source, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: remove alias %s → %s: %w", source, target, ErrNotFound)
		}
		return nil
	})
}

// Aliases lists aliases, all or those of one domain ("" = all).
func (s *Store) Aliases(ctx context.Context, domain string) ([]Alias, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT source, target FROM aliases WHERE ? = '' OR domain = ? ORDER BY source, target`, domain, domain)
	if err != nil {
		return nil, fmt.Errorf("store: list aliases: %w", err)
	}
	defer rows.Close()
	var out []Alias
	for rows.Next() {
		var a Alias
		if err := rows.Scan(&a.Source, &a.Target); err != nil {
			return nil, fmt.Errorf("store: list aliases: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// firstUserTx is who reads postmaster@ and abuse@ mail of a domain that
// has no alias for them: the domain's first user, or, for a domain with
// no users (or for the bare "postmaster" of RFC 5321, domain ""), the
// first user of the store, who is the operator's own account more often
// than not. Such mail is never refused while anyone can read it.
func firstUserTx(ctx context.Context, tx *sql.Tx, domain string) (User, error) {
	u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE domain = ? ORDER BY id LIMIT 1`, domain))
	if errors.Is(err, sql.ErrNoRows) {
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users ORDER BY id LIMIT 1`))
	}
	return u, err
}

// Resolution is where mail to one address goes (see Route).
type Resolution struct {
	Addr   string   // the canonical address
	Local  bool     // in a local domain, or this host's postmaster
	Users  []User   // local users (deduplicated)
	Remote []string // remote addresses: the address itself, or reached through aliases
}

// Empty reports whether the address is unknown.
func (r Resolution) Empty() bool { return len(r.Users) == 0 && len(r.Remote) == 0 }

// resolve expands a canonical address in a local domain to users and
// remote targets. postmaster@ and abuse@ (RFC 5321 §4.5.1) fall back to
// a first user (see firstUserTx) when neither a user nor an alias exists.
func (s *Store) resolve(ctx context.Context, address string) (Resolution, error) {
	// Most recipients are users: one query answers, with no transaction
	// (smtpd routes every RCPT TO).
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE address = ?`, address))
	if err == nil {
		return Resolution{Users: []User{u}}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Resolution{}, fmt.Errorf("store: resolve %s: %w", address, err)
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Resolution{}, fmt.Errorf("store: resolve %s: %w", address, err)
	}
	defer tx.Rollback()
	r, err := resolveTx(ctx, tx, address)
	if err != nil {
		return Resolution{}, fmt.Errorf("store: resolve %s: %w", address, err)
	}
	if r.Empty() {
		local, domain := SplitAddress(address)
		if local == "postmaster" || local == "abuse" {
			u, err := firstUserTx(ctx, tx, domain)
			if err == nil {
				r.Users = append(r.Users, u)
			} else if !errors.Is(err, sql.ErrNoRows) {
				return Resolution{}, fmt.Errorf("store: resolve %s: %w", address, err)
			}
		}
	}
	return r, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func resolveTx(ctx context.Context, q querier, address string) (Resolution, error) {
	var r Resolution
	seenUser := map[int64]bool{}
	seenRemote := map[string]bool{}
	var walk func(addr string, path []string) error
	walk = func(addr string, path []string) error {
		for _, p := range path {
			if p == addr {
				return fmt.Errorf("%w: %s", ErrAliasLoop, strings.Join(append(path, addr), " → "))
			}
		}
		if len(path) > maxAliasDepth {
			return fmt.Errorf("%w: chain longer than %d", ErrAliasLoop, maxAliasDepth)
		}
		u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE address = ?`, addr))
		if err == nil {
			if !seenUser[u.ID] {
				seenUser[u.ID] = true
				r.Users = append(r.Users, u)
			}
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		targets, err := aliasTargets(ctx, q, addr)
		if err != nil {
			return err
		}
		if len(targets) == 0 {
			if len(path) > 0 && !isLocalDomain(ctx, q, addr) && !seenRemote[addr] {
				seenRemote[addr] = true
				r.Remote = append(r.Remote, addr)
			}
			return nil
		}
		for _, t := range targets {
			if err := walk(t, append(path, addr)); err != nil {
				return err
			}
		}
		return nil
	}
	err := walk(address, nil)
	return r, err
}

func aliasTargets(ctx context.Context, q querier, source string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT target FROM aliases WHERE source = ? ORDER BY target`, source)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func isLocalDomain(ctx context.Context, q querier, addr string) bool {
	_, d := SplitAddress(addr)
	var one int
	return q.QueryRowContext(ctx, `SELECT 1 FROM domains WHERE name = ?`, d).Scan(&one) == nil
}

// AliasesOf lists the alias addresses whose mail reaches the user, directly
// or through other aliases: a user credential may send as these.
func (s *Store) AliasesOf(ctx context.Context, address string) ([]string, error) {
	var out []string
	seen := map[string]bool{address: true}
	frontier := []string{address}
	for depth := 0; depth <= maxAliasDepth && len(frontier) > 0; depth++ {
		var next []string
		for _, t := range frontier {
			rows, err := s.r.QueryContext(ctx, `SELECT source FROM aliases WHERE target = ?`, t)
			if err != nil {
				return nil, fmt.Errorf("store: aliases of %s: %w", address, err)
			}
			for rows.Next() {
				var src string
				if err := rows.Scan(&src); err != nil {
					rows.Close()
					return nil, fmt.Errorf("store: aliases of %s: %w", address, err)
				}
				if !seen[src] {
					seen[src] = true
					out = append(out, src)
					next = append(next, src)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("store: aliases of %s: %w", address, err)
			}
		}
		frontier = next
	}
	return out, nil
}
