package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var embeddedMigrations embed.FS

// schemaVersion is the newest schema this binary knows: the number of
// migration files. PRAGMA user_version records the file's version.
func schemaVersion() int {
	names, _ := migrationNames(embeddedMigrations)
	return len(names)
}

// withMigrations replaces the embedded migrations, so tests can check an
// upgrade from one version to the next.
func withMigrations(fsys fs.FS) Option {
	return func(s *Store) { s.migrations = fsys }
}

// migrationNames lists the migration files in order and checks that they
// are numbered 1, 2, 3... without gaps.
func migrationNames(fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for i, name := range names {
		n, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "migrations/"), "_", 2)[0])
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
	var v int
	if err := s.w.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("store: %s is not a mailsuite store (is it an SQLite file?): %w", s.path, err)
	}
	names, err := migrationNames(s.migrations)
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
		if err := tx.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
			return fmt.Errorf("store: %s is not a mailsuite store (is it an SQLite file?): %w", s.path, err)
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
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
			return fmt.Errorf("store: migrate %s: %w", s.path, err)
		}
		return nil
	})
	return v, err
}
