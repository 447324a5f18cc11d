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

// An operator moves a populated SQLite store to PostgreSQL: store copy
// with the password in a file, store check of both, then the daemons'
// config pointed at PostgreSQL sees the same users and mail.
func TestStoreCopyAndCheck(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain add", "example.com")
	e.ok("correct horse battery\n", "user add", "a@example.com", "--password-stdin")
	st := e.openStore()
	u, _ := st.UserByAddress(context.Background(), "a@example.com")
	for range 3 {
		if err := st.Accept(context.Background(), store.Envelope{Local: []int64{u.ID}}, []byte("Subject: x\r\n\r\ny\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	dsn, pwfile := dsnAndPasswordFile(t)
	out, progress, code := e.exec("", "store", "copy", "--to", dsn, "--password-file", pwfile)
	if code != 0 || !strings.Contains(out, "every table's count and checksum match") ||
		!strings.Contains(progress, "copied messages: 3 rows\n") {
		t.Fatalf("store copy: exit %d, stdout %q, stderr %q", code, out, progress)
	}
	e.ok("", "store", "check", "--to", dsn, "--password-file", pwfile)
	sums := e.ok("", "store", "check")
	if !regexp.MustCompile(`(?m)^messages\s+3\s+[0-9a-f]{32}$`).MatchString(sums) {
		t.Errorf("store check printed %q, want a line for messages with 3 rows", sums)
	}

	// A second copy into the same database is refused; a change on one
	// side shows in store check, exit 1.
	e.fail(1, "not empty", "", "store", "copy", "--to", dsn, "--password-file", pwfile)
	e.ok("", "domain add", "other.example")
	out, _, code = e.exec("", "store", "check", "--to", dsn, "--password-file", pwfile)
	if code != 1 || !strings.Contains(out, "domains: 2 rows here, 1 there") {
		t.Errorf("store check after a change: exit %d, %q", code, out)
	}

	// mailctl on the PostgreSQL store, as the daemons will run.
	e.writeConfig("hostname = \"mail.test\"\ndata_dir = \"data\"\n[store]\ndriver = \"postgres\"\ndsn = \"" + dsn + "\"\npassword_file = \"" + pwfile + "\"\n")
	if got := e.ok("", "user list"); !strings.Contains(got, "a@example.com") {
		t.Errorf("user list on PostgreSQL = %q", got)
	}
	e.fail(2, "--to", "", "store", "copy")
	// Malformed, unreachable and missing destinations are errors that
	// name the problem and never echo a password.
	e.fail(1, "--to: store: postgres: cannot parse the connection string", "", "store", "copy", "--to", "host='unterminated")
	e.fail(1, "127.0.0.1", "", "store", "copy", "--to", "host=127.0.0.1 port=1 dbname=x connect_timeout=5")
	e.fail(1, "--password-file: open", "", "store", "copy", "--to", "host=127.0.0.1 dbname=x", "--password-file", filepath.Join(e.dir, "none"))
	e.fail(2, "no such file", "", "store", "check", "--to", filepath.Join(e.dir, "missing.db"))
	e.fail(2, "not a PostgreSQL connection string", "", "store", "copy", "--to", filepath.Join(e.dir, "x.db"))
}

// dsnAndPasswordFile gives a new database's connection string without its
// password, and a file holding the password.
func dsnAndPasswordFile(t *testing.T) (dsn, pwfile string) {
	full := pgtest.DSN(t)
	c := pgtest.Start(t)
	dsn = strings.Replace(full, " password="+c.Password, "", 1)
	pwfile = filepath.Join(t.TempDir(), "pgpass")
	if err := os.WriteFile(pwfile, []byte(c.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dsn, pwfile
}

func TestDSNPassword(t *testing.T) {
	for dsn, want := range map[string]bool{
		"host=db dbname=mail":                    false,
		"host=db password=x dbname=mail":         true,
		"host=db PASSWORD = x":                   true,
		"postgres://u@db/mail":                   false,
		"postgres://u:pw@db/mail":                true,
		"postgresql://u@db/mail?password=x":      true,
		"host=db dbname=mail application_name=x": false,
	} {
		if got := hasPassword(dsn); got != want {
			t.Errorf("hasPassword(%q) = %v, want %v", dsn, got, want)
		}
	}
}
