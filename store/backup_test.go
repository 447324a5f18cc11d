package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "mail.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AddDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(ctx, "a@example.com", "hash", true); err != nil {
		t.Fatal(err)
	}
	bakDir := filepath.Join(dir, "bak")
	if err := os.Mkdir(bakDir, 0o700); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(bakDir, "mail.db")
	if err := s.Backup(ctx, dst); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, dst); !errors.Is(err, fs.ErrExist) {
		t.Errorf("backup over an existing file: %v, want ErrExist", err)
	}
	entries, err := os.ReadDir(bakDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("backup dir holds %d entries, want only mail.db (no partial files)", len(entries))
	}

	b, err := Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	u, err := b.UserByAddress(ctx, "a@example.com")
	if err != nil || u.Hash != "hash" {
		t.Errorf("user in backup = %+v, %v", u, err)
	}
	mbs, err := b.Mailboxes(ctx, u.ID)
	if err != nil || len(mbs) != len(DefaultMailboxes) {
		t.Errorf("backup mailboxes = %d, %v; want %d", len(mbs), err, len(DefaultMailboxes))
	}
}
