package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Backup writes a consistent snapshot of the store to path, which must not
// exist, while other processes keep reading and writing: VACUUM INTO runs
// in one read transaction, so it sees a single committed state and blocks
// no writer. The copy is written under a temporary name in the same
// directory, synced, and only then linked to path, so a failed or
// interrupted backup never leaves a partial file under the requested name.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.postgres() {
		return errors.New("store: backup: the store is in PostgreSQL: back it up with pg_dump (see README)")
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("store: backup to %s: %w", path, fs.ErrExist)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, unwrapPath(err))
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath) // after a successful link, only the temporary name goes
	// VACUUM INTO accepts an existing empty file.
	if _, err := s.w.ExecContext(ctx, `VACUUM INTO ?`, tmpPath); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	if err := syncPath(tmpPath); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	if err := os.Link(tmpPath, path); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, unwrapPath(err))
	}
	if err := syncPath(dir); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	return nil
}

// syncPath fsyncs a file or directory.
func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// unwrapPath drops the "op path:" prefix of an *fs.PathError or
// *os.LinkError, whose path is already in our message (or is the
// temporary name, which would only confuse).
func unwrapPath(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}
