package store

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrations embed.FS

// schemaVersion is the newest schema this binary knows: the number of
// migration files. PRAGMA user_version records the file's version.
func schemaVersion() int {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	return len(names)
}

// migrate brings the file up to schemaVersion, one transaction per step,
// and refuses a file written by a newer release.
func (s *Store) migrate() error {
	var v int
	if err := s.w.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("store: %s is not a mailsuite store (is it an SQLite file?): %w", s.path, err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	if v > len(names) {
		return fmt.Errorf("store: %s has schema version %d, newer than this binary's %d: upgrade mailsuite", s.path, v, len(names))
	}
	for i := v; i < len(names); i++ {
		n, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(names[i], "migrations/"), "_", 2)[0])
		if n != i+1 {
			return fmt.Errorf("store: migration %s out of order", names[i])
		}
		body, err := migrations.ReadFile(names[i])
		if err != nil {
			return err
		}
		tx, err := s.w.Begin()
		if err != nil {
			return fmt.Errorf("store: migrate %s: %w", s.path, err)
		}
		// Re-check inside the write lock: another process may have migrated.
		var cur int
		if err := tx.QueryRow("PRAGMA user_version").Scan(&cur); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migrate %s: %w", s.path, err)
		}
		if cur > i {
			tx.Rollback()
			i = cur - 1
			continue
		}
		if _, err := tx.Exec(string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migrate %s to version %d: %w", s.path, i+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migrate %s: %w", s.path, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migrate %s: %w", s.path, err)
		}
	}
	return nil
}
