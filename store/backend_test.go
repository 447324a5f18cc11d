package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailsuite/internal/pgtest"
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
	if testDriver() == DriverPostgres {
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

// sqliteOnly skips a test of SQLite's own machinery on PostgreSQL.
func sqliteOnly(t testing.TB, why string) {
	t.Helper()
	if testDriver() != DriverSQLite {
		t.Skipf("SQLite only: %s", why)
	}
}
