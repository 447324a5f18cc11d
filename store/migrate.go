package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Each backend has its own migration set, migrations/sqlite and
// migrations/postgres, numbered on their own: PostgreSQL's 0001 is the
// schema SQLite reached at 0009.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var embeddedMigrations embed.FS

// schemaVersion is the newest schema this binary knows for a backend: the
// number of its migration files. SQLite records a file's version in
// PRAGMA user_version, PostgreSQL in the table schema_version.
func schemaVersion(driver string) int {
	names, _ := migrationNames(embeddedMigrations, "migrations/"+driver)
	return len(names)
}

// withMigrations replaces the embedded migrations by the files
// migrations/*.sql of fsys, so tests can check an upgrade from one
// version to the next.
func withMigrations(fsys fs.FS) Option {
	return func(s *Store) { s.migrations, s.migDir = fsys, "migrations" }
}

// migrationNames lists the migration files in dir in order and checks
// that they are numbered 1, 2, 3... without gaps.
func migrationNames(fsys fs.FS, dir string) ([]string, error) {
	names, err := fs.Glob(fsys, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for i, name := range names {
		n, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, dir+"/"), "_", 2)[0])
		if n != i+1 {
			return nil, fmt.Errorf("store: migration %s out of order", name)
		}
	}
	return names, nil
}

// migrate brings the file up to the newest version, one transaction per
// step, and refuses a file written by a newer release. Several processes
// may open a fresh file at once: each step begins IMMEDIATE (so they
// queue for the write lock) and re-reads the version inside it, so a step
// another process already applied is skipped.
func (s *Store) migrate() error {
	if !s.postgres() {
		var v int
		if err := s.w.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
			return fmt.Errorf("store: %s is not a mailsuite store (is it an SQLite file?): %w", s.path, err)
		}
	}
	names, err := migrationNames(s.migrations, s.migDir)
	if err != nil {
		return err
	}
	for {
		v, err := s.migrateStep(names)
		if err != nil {
			return err
		}
		if v == len(names) {
			return nil
		}
	}
}

// migrateStep applies the migration after the file's current version, if
// any, and returns the version the file is at afterwards.
func (s *Store) migrateStep(names []string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), busyTimeout)
	defer cancel()
	var v int
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if v, err = s.schemaVersionTx(tx); err != nil {
			return err
		}
		if v > len(names) {
			return fmt.Errorf("store: %s has schema version %d, newer than this binary's %d: upgrade mailsuite", s.path, v, len(names))
		}
		if v == len(names) {
			return nil
		}
		body, err := fs.ReadFile(s.migrations, names[v])
		if err != nil {
			return err
		}
		if _, err := tx.Exec(string(body)); err != nil {
			return fmt.Errorf("store: migrate %s to version %d: %w", s.path, v+1, err)
		}
		v++
		if err := s.setSchemaVersionTx(tx, v); err != nil {
			return fmt.Errorf("store: migrate %s: %w", s.path, err)
		}
		return nil
	})
	return v, err
}

// schemaVersionTx reads the store's schema version: SQLite's user_version,
// or PostgreSQL's one-row table schema_version, which it creates in an
// empty database (every write transaction holds the write lock, so two
// processes never create it at once).
func (s *Store) schemaVersionTx(tx *sql.Tx) (int, error) {
	var v int
	if !s.postgres() {
		if err := tx.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
			return 0, fmt.Errorf("store: %s is not a mailsuite store (is it an SQLite file?): %w", s.path, err)
		}
		return v, nil
	}
	if _, err := tx.Exec(`CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("store: %s: schema version: %w", s.path, err)
	}
	err := tx.QueryRow(`SELECT version FROM schema_version`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.Exec(`INSERT INTO schema_version (version) VALUES (0)`)
	}
	if err != nil {
		return 0, fmt.Errorf("store: %s: schema version: %w", s.path, err)
	}
	return v, nil
}

func (s *Store) setSchemaVersionTx(tx *sql.Tx, v int) error {
	if s.postgres() {
		_, err := tx.Exec(`UPDATE schema_version SET version = ?`, v)
		return err
	}
	_, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", v))
	return err
}
