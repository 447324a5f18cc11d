package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"mailsuite/shared/config"
	"mailsuite/store"
)

// storeCopy copies the configured store into the empty PostgreSQL store
// named by --to, then compares the two table by table. The daemons should
// be stopped (or the copy re-run after the last change): the copy is a
// snapshot.
func storeCopy(ctx context.Context, e *env, _ []string) error {
	dst, err := openOther(e, store.DriverPostgres)
	if err != nil {
		return err
	}
	defer dst.Close()
	start := time.Now()
	var rows int64
	err = e.st.CopyTo(ctx, dst, func(table string, n int64) {
		rows += n
		fmt.Fprintf(e.stderr, "copied %s: %d rows\n", table, n)
	})
	if err != nil {
		return err
	}
	if err := sameSums(ctx, e, e.st, dst); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "store copy: %d rows copied in %s; every table's count and checksum match\n",
		rows, time.Since(start).Round(time.Millisecond))
	return nil
}

// storeCheck checks the configured store's own consistency and prints
// each table's row count and checksum; with --to it compares them with
// another store (after store copy), and exits 1 on any difference.
func storeCheck(ctx context.Context, e *env, _ []string) error {
	if e.inv.to != "" {
		other, err := openOther(e, "")
		if err != nil {
			return err
		}
		defer other.Close()
		if err := sameSums(ctx, e, e.st, other); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "store check: both stores have the same rows in every table")
		return nil
	}
	if err := e.st.Integrity(ctx); err != nil {
		return refused("store check: %v", err)
	}
	sums, err := e.st.Checksums(ctx)
	if err != nil {
		return err
	}
	if e.inv.json {
		return json.NewEncoder(e.stdout).Encode(sums)
	}
	for _, s := range sums {
		fmt.Fprintf(e.stdout, "%-20s %10d  %s\n", s.Table, s.Rows, s.Sum)
	}
	fmt.Fprintln(e.stdout, "store check: ok")
	return nil
}

// sameSums compares two stores' counts and checksums and names every
// table that differs.
func sameSums(ctx context.Context, e *env, a, b *store.Store) error {
	sa, err := a.Checksums(ctx)
	if err != nil {
		return err
	}
	sb, err := b.Checksums(ctx)
	if err != nil {
		return err
	}
	byTable := make(map[string]store.TableSum, len(sb))
	for _, s := range sb {
		byTable[s.Table] = s
	}
	var diffs []string
	for _, s := range sa {
		o, ok := byTable[s.Table]
		switch {
		case !ok:
			diffs = append(diffs, s.Table+": missing in the other store")
		case o.Rows != s.Rows:
			diffs = append(diffs, fmt.Sprintf("%s: %d rows here, %d there", s.Table, s.Rows, o.Rows))
		case o.Sum != s.Sum:
			diffs = append(diffs, fmt.Sprintf("%s: %d rows each, but their contents differ", s.Table, s.Rows))
		}
		delete(byTable, s.Table)
	}
	for t := range byTable {
		diffs = append(diffs, t+": missing in this store")
	}
	if len(diffs) > 0 {
		for _, d := range diffs {
			fmt.Fprintln(e.stdout, d)
		}
		return refused("store check: the stores differ in %d tables", len(diffs))
	}
	return nil
}

// openOther opens the store named by --to: a PostgreSQL connection string
// (key=value pairs or a postgres:// URL) or an SQLite file. The password
// should come from --password-file, the environment (PGPASSWORD) or
// ~/.pgpass rather than the command line, where ps shows it: one given
// there still works, with a warning.
func openOther(e *env, want string) (*store.Store, error) {
	to := e.inv.to
	if to == "" {
		return nil, usagef("--to DSN is required")
	}
	driver := store.DriverSQLite
	if strings.Contains(to, "=") || strings.HasPrefix(to, "postgres://") || strings.HasPrefix(to, "postgresql://") {
		driver = store.DriverPostgres
	}
	if want != "" && driver != want {
		return nil, usagef("--to %q is not a PostgreSQL connection string (host=... dbname=... or postgres://...)", to)
	}
	if driver == store.DriverSQLite {
		if _, err := os.Stat(to); err != nil {
			return nil, fmt.Errorf("store check: %w", err)
		}
		return store.Open(to, store.WithLimits(e.cfg.Quota.Limits()))
	}
	if hasPassword(to) {
		fmt.Fprintln(e.stderr, "mailctl: warning: the connection string holds a password, which ps shows to every local user; use --password-file FILE, PGPASSWORD or ~/.pgpass")
	}
	to, err := config.DSNWithPasswordFile(to, e.inv.passwordFile)
	if err != nil {
		return nil, fmt.Errorf("--password-file: %w", err)
	}
	st, err := store.OpenPostgres(to, store.WithLimits(e.cfg.Quota.Limits()))
	if err != nil {
		return nil, fmt.Errorf("--to: %w", err)
	}
	return st, nil
}

// refused is a check's negative answer: exit status 1 (see verdictErr).
func refused(format string, a ...any) error {
	return checkFailed(fmt.Sprintf(format, a...))
}

type checkFailed string

func (e checkFailed) Error() string        { return string(e) }
func (e checkFailed) Is(target error) bool { return target == errRefused }

// hasPassword reports whether a connection string carries a password.
func hasPassword(dsn string) bool {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		_, ok := u.User.Password()
		return ok || u.Query().Has("password")
	}
	return passwordKey.MatchString(dsn)
}

var passwordKey = regexp.MustCompile(`(?i)(^|\s)password\s*=`)
