package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mailsuite/internal/pgtest"
	"mailsuite/store"
)

// TestPostgresStore: with store.driver = "postgres", mailctl works on the
// database named by store.dsn, the password read from store.password_file,
// and leaves no mail.db in data_dir; backup points at pg_dump.
func TestPostgresStore(t *testing.T) {
	e := newEnv(t)
	dsn := pgtest.DSN(t)
	pw := regexp.MustCompile(`password=(\S+)`)
	if err := os.WriteFile(filepath.Join(e.dir, "db.password"), []byte(pw.FindStringSubmatch(dsn)[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.writeConfig("hostname = \"mail.test\"\ndata_dir = \"data\"\n[store]\ndriver = \"postgres\"\ndsn = \"" +
		pw.ReplaceAllString(dsn, "") + "\"\npassword_file = \"db.password\"\n")
	e.ok("", "domain", "add", "example.com")
	e.ok("long enough\n", "user", "add", "a@example.com", "--password-stdin")
	e.fail(1, "pg_dump", "", "backup", filepath.Join(e.dir, "b.db"))
	if _, err := os.Stat(e.dbPath()); !os.IsNotExist(err) {
		t.Fatalf("mail.db in data_dir: %v", err)
	}
	st, err := store.OpenPostgres(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.UserByAddress(context.Background(), "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if out := e.ok("", "user", "list"); !strings.Contains(out, "a@example.com") {
		t.Fatalf("user list: %q", out)
	}
}
