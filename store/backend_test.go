package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"mailsuite/internal/pgtest"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx", for connections of the tests' own
)

// envTestStore chooses the backend the store's tests run on: unset or
// "sqlite" for an SQLite file, "postgres" for a fresh database in a
// throw-away PostgreSQL cluster (internal/pgtest). make test runs the
// suite once with each.
const envTestStore = "MAILSUITE_TEST_STORE"

func TestMain(m *testing.M) {
	os.Exit(pgtest.Run(m))
}

// testDriver is the backend under test.
func testDriver() string {
	if os.Getenv(envTestStore) == DriverPostgres {
		return DriverPostgres
	}
	return DriverSQLite
}

// testSource is a new, empty store's source for the backend under test:
// a file path, or a PostgreSQL DSN.
func testSource(t testing.TB) string {
	t.Helper()
	return sourceOn(t, testDriver())
}

func sourceOn(t testing.TB, driver string) string {
	t.Helper()
	if driver == DriverPostgres {
		return pgtest.DSN(t)
	}
	return filepath.Join(t.TempDir(), "mail.db")
}

// openSource opens a source testSource gave (also in a helper process).
func openSource(src string, opts ...Option) (*Store, error) {
	if strings.Contains(src, "dbname=") {
		return OpenPostgres(src, opts...)
	}
	return Open(src, opts...)
}

// forBackends runs a benchmark on each backend, so one run compares them:
// sub-benchmarks backend=sqlite and backend=postgres.
func forBackends(b *testing.B, fn func(b *testing.B, driver string)) {
	for _, d := range []string{DriverSQLite, DriverPostgres} {
		b.Run("backend="+d, func(b *testing.B) { fn(b, d) })
	}
}

// sqliteOnly skips a test of SQLite's own machinery on PostgreSQL.
func sqliteOnly(t testing.TB, why string) {
	t.Helper()
	if testDriver() != DriverSQLite {
		t.Skipf("SQLite only: %s", why)
	}
}

// syncLevel reads the durability of one of db's connections as SQLite's
// PRAGMA synchronous numbers it: 2 (FULL) for SQLite's FULL and for
// PostgreSQL's synchronous_commit = on, 0 for off.
func syncLevel(s *Store) (int, error) {
	var level int
	if !s.postgres() {
		err := s.w.QueryRow(`PRAGMA synchronous`).Scan(&level)
		return level, err
	}
	var v string
	if err := s.w.QueryRow(`SELECT current_setting('synchronous_commit')`).Scan(&v); err != nil {
		return 0, err
	}
	switch v {
	case "on", "remote_apply", "remote_write":
		return 2, nil
	case "off":
		return 0, nil
	}
	return 1, nil
}

// holdWriteLock takes the store's write lock from another connection, as
// another process would, until the returned function releases it.
func holdWriteLock(t *testing.T, s *Store) (release func()) {
	t.Helper()
	if s.postgres() {
		db, err := sql.Open("pgx", s.DSN())
		if err != nil {
			t.Fatal(err)
		}
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_lock($1)`, writeLockKey); err != nil {
			t.Fatal(err)
		}
		return sync.OnceFunc(func() { conn.Close(); db.Close() })
	}
	// As internal/testutil.HoldWriteLock, which this package cannot import.
	db, err := sql.Open("sqlite3", "file:"+s.Path()+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	return sync.OnceFunc(func() { tx.Rollback(); db.Close() })
}

// writerWait reads how long the writer waits for the lock, in ms:
// SQLite's busy timeout, PostgreSQL's lock_timeout outside a write
// (0: unbounded, as beginPostgres bounds only taking the write lock).
func writerWait(s *Store) (int64, error) {
	var ms int64
	if !s.postgres() {
		err := s.w.QueryRow(`PRAGMA busy_timeout`).Scan(&ms)
		return ms, err
	}
	var v string
	err := s.w.QueryRow(`SELECT current_setting('lock_timeout')`).Scan(&v)
	if v != "0" && err == nil {
		err = fmt.Errorf("lock_timeout = %s", v)
	}
	return 0, err
}
