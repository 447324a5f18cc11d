package store

import (
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// userVersion reads the schema version straight from the store: an
// SQLite file's PRAGMA user_version, or PostgreSQL's schema_version.
func userVersion(t *testing.T, src string) int {
	t.Helper()
	driver, q := "sqlite3", "PRAGMA user_version"
	if testDriver() == DriverPostgres {
		driver, q = "pgx", "SELECT version FROM schema_version"
	} else {
		src = "file:" + src
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow(q).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func hasTable(t *testing.T, s *Store, name string) bool {
	t.Helper()
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if s.postgres() {
		q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	var n int
	if err := s.r.QueryRow(q, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// setUserVersion sets the store's schema version, as a newer release's
// migration would.
func setUserVersion(t *testing.T, s *Store, v int) {
	t.Helper()
	q := fmt.Sprintf("PRAGMA user_version = %d", v)
	if s.postgres() {
		q = fmt.Sprintf("UPDATE schema_version SET version = %d", v)
	}
	if _, err := s.w.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// storeName is how the store's errors name a source: the file's path, or
// the PostgreSQL database.
func storeName(src string) string {
	if testDriver() == DriverPostgres {
		return "postgres database"
	}
	return src
}

// TestMigrateFromEmpty opens an empty file and an SQLite file at
// user_version 0: both become a current store.
func TestMigrateFromEmpty(t *testing.T) {
	sqliteOnly(t, "an empty file; on PostgreSQL every test opens an empty database")
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	v0 := filepath.Join(dir, "v0.db")
	db, err := sql.Open("sqlite3", "file:"+v0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE scratch (x); DROP TABLE scratch`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, p := range []string{empty, v0} {
		if v := userVersion(t, p); v != 0 {
			t.Fatalf("%s: user_version %d before", p, v)
		}
		s, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"domains", "users", "mailboxes", "messages", "grants", "auth_failures", "queue", "changes", "meta"} {
			if !hasTable(t, s, table) {
				t.Errorf("%s: no table %s", p, table)
			}
		}
		s.Close()
		if v := userVersion(t, p); v != schemaVersion(DriverSQLite) || v == 0 {
			t.Errorf("%s: user_version %d, want %d", p, v, schemaVersion(DriverSQLite))
		}
	}
}

// testMigrations is the embedded schema plus a second version, to check
// the upgrade of a file from the previous version.
func testMigrations(t *testing.T, second string) fstest.MapFS {
	t.Helper()
	first, err := fs.ReadFile(embeddedMigrations, "migrations/"+testDriver()+"/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	m := fstest.MapFS{"migrations/0001_init.sql": {Data: first}}
	if second != "" {
		m["migrations/0002_next.sql"] = &fstest.MapFile{Data: []byte(second)}
	}
	return m
}

// TestMigrateFromPrevious upgrades a version-1 file that holds data to
// version 2, reopens it, and checks that a version-1 binary then refuses it.
func TestMigrateFromPrevious(t *testing.T) {
	path := testSource(t)
	s, err := openSource(path, withMigrations(testMigrations(t, "")))
	if err != nil {
		t.Fatal(err)
	}
	seed(t, s)
	s.Close()
	next := testMigrations(t, `ALTER TABLE users ADD COLUMN note TEXT NOT NULL DEFAULT 'migrated';
		CREATE TABLE extra (k TEXT PRIMARY KEY);`)
	for range 2 { // the second open finds it current and changes nothing
		s, err = openSource(path, withMigrations(next))
		if err != nil {
			t.Fatal(err)
		}
		var note string
		if err := s.r.QueryRow(`SELECT note FROM users WHERE address = 'a@example.com'`).Scan(&note); err != nil || note != "migrated" {
			t.Fatalf("after upgrade: note %q, %v", note, err)
		}
		if !hasTable(t, s, "extra") {
			t.Fatal("no table extra")
		}
		s.Close()
		if v := userVersion(t, path); v != 2 {
			t.Fatalf("user_version %d, want 2", v)
		}
	}
	_, err = openSource(path, withMigrations(testMigrations(t, "")))
	if err == nil || !strings.Contains(err.Error(), "newer") || !strings.Contains(err.Error(), storeName(path)) {
		t.Fatalf("old binary on new file: err = %v", err)
	}
	if v := userVersion(t, path); v != 2 {
		t.Fatalf("refusal changed user_version to %d", v)
	}
}

// TestMigrateFailureLeavesPrevious: a migration that fails half way is
// rolled back whole; the file stays at the previous version, usable.
func TestMigrateFailureLeavesPrevious(t *testing.T) {
	path := testSource(t)
	s, err := openSource(path, withMigrations(testMigrations(t, "")))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = openSource(path, withMigrations(testMigrations(t, `CREATE TABLE half (x TEXT); THIS IS NOT SQL;`)))
	if err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("err = %v, want a failure naming version 2", err)
	}
	if v := userVersion(t, path); v != 1 {
		t.Fatalf("user_version %d after a failed migration", v)
	}
	s, err = openSource(path, withMigrations(testMigrations(t, "")))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if hasTable(t, s, "half") {
		t.Fatal("a failed migration left a table behind")
	}
}

// TestMigrateOutOfOrder refuses a gap in the migration numbers.
func TestMigrateOutOfOrder(t *testing.T) {
	m := testMigrations(t, "")
	m["migrations/0003_gap.sql"] = &fstest.MapFile{Data: []byte("SELECT 1;")}
	_, err := openSource(testSource(t), withMigrations(m))
	if err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Fatalf("err = %v", err)
	}
}

// TestMigrateConcurrentFresh starts several processes that open the same
// new file at once: every one must succeed, and the schema must be
// applied exactly once.
func TestMigrateConcurrentFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	for round := range 2 {
		path := testSource(t)
		type proc struct {
			wait   func() error
			stderr fmtStringer
		}
		var procs []proc
		for range 4 {
			cmd, _, stderr := startHelper(t, "open", path, "", 0)
			procs = append(procs, proc{cmd.Wait, stderr})
		}
		for _, p := range procs {
			if err := p.wait(); err != nil {
				t.Errorf("round %d: open: %v\n%s", round, err, p.stderr)
			}
		}
		if t.Failed() {
			return
		}
		s, err := openSource(path)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		s.r.QueryRow(`SELECT count(*) FROM meta`).Scan(&n)
		s.Close()
		if n != 1 {
			t.Fatalf("round %d: meta has %d rows: the schema was applied more than once", round, n)
		}
		if v := userVersion(t, path); v != schemaVersion(testDriver()) {
			t.Fatalf("round %d: user_version %d", round, v)
		}
	}
}

type fmtStringer interface{ String() string }
