package config

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"mailsuite/store"
)

// StoreConfig chooses the mailbox store: the SQLite file data_dir/mail.db
// (one host), or a PostgreSQL database that the daemons of several hosts
// share.
type StoreConfig struct {
	// Driver is "sqlite" or "postgres".
	Driver string `toml:"driver"`
	// DSN is the libpq connection string of the PostgreSQL database
	// ("host=db1 dbname=mailsuite user=mailsuite" or a postgres:// URL).
	DSN string `toml:"dsn"`
	// PasswordFile holds the database password on its first line, used
	// when DSN has none, so the password need not be in this file (which
	// every daemon and mailctl read). Relative to the config's folder.
	PasswordFile string `toml:"password_file"`
}

// StoreSource is what store.OpenDriver takes for this configuration: the
// driver, and the SQLite file's path or the PostgreSQL connection string
// with the password of store.password_file added. The source may hold a
// password: never log it.
func (c *Config) StoreSource() (driver, source string, err error) {
	if c.Store.Driver != store.DriverPostgres {
		return store.DriverSQLite, c.DBPath(), nil
	}
	source, err = DSNWithPasswordFile(c.Store.DSN, c.Store.PasswordFile)
	if err != nil {
		return "", "", fmt.Errorf("config: store.password_file: %w", err)
	}
	return store.DriverPostgres, source, nil
}

// DSNWithPasswordFile adds the first line of passwordFile to dsn as its
// password, unless dsn (or the environment, PGPASSWORD) already gives
// one or passwordFile is "". mailctl store copy uses it for --to.
func DSNWithPasswordFile(dsn, passwordFile string) (string, error) {
	if passwordFile == "" {
		return dsn, nil
	}
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "", errors.New("not a valid connection string")
	}
	if cfg.Password != "" {
		return dsn, nil
	}
	pw, err := readPassword(passwordFile)
	if err != nil {
		return "", err
	}
	return withPassword(dsn, pw), nil
}

// readPassword reads the first line of path.
func readPassword(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return "", fmt.Errorf("read %s: %w", path, err)
		}
		return "", fmt.Errorf("%s is empty", path)
	}
	pw := strings.TrimRight(sc.Text(), "\r")
	if pw == "" {
		return "", fmt.Errorf("%s: the first line is empty", path)
	}
	return pw, nil
}

// withPassword adds password to a connection string: as a parameter of a
// postgres:// URL, or as a quoted keyword=value pair.
func withPassword(dsn, password string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "password=" + url.QueryEscape(password)
	}
	q := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(password)
	return strings.TrimSpace(dsn) + " password='" + q + "'"
}

// storeSection checks the store section.
func (v *validator) storeSection(s StoreConfig) {
	switch s.Driver {
	case store.DriverSQLite:
	case store.DriverPostgres:
		v.check(s.DSN != "", "store.dsn", `must be set when store.driver is "postgres"`)
		if s.DSN != "" {
			if _, err := pgconn.ParseConfig(s.DSN); err != nil {
				// pgconn's message may quote the string, password and all.
				v.fail("store.dsn", "is not a libpq connection string (key=value pairs or a postgres:// URL)")
			}
		}
	default:
		v.fail("store.driver", fmt.Sprintf("must be %q or %q, got %q", store.DriverSQLite, store.DriverPostgres, s.Driver))
	}
}
