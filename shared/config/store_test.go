package config

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

func TestMain(m *testing.M) {
	os.Exit(pgtest.Run(m))
}

func TestLoadStoreErrors(t *testing.T) {
	_, msg := loadErr(t, "[store]\ndriver = \"mysql\"\n")
	wantContains(t, msg, `store.driver: must be "sqlite" or "postgres", got "mysql" (line 2)`)
	_, msg = loadErr(t, "[store]\ndriver = \"postgres\"\n")
	wantContains(t, msg, `store.dsn: must be set when store.driver is "postgres"`)
	_, msg = loadErr(t, "[store]\ndriver = \"postgres\"\ndsn = \"host=db password=sekrit port=notaport\"\n")
	wantContains(t, msg, "store.dsn: is not a libpq connection string")
	if strings.Contains(msg, "sekrit") {
		t.Errorf("the error shows the password: %s", msg)
	}
}

// TestStoreSourceSQLite: the default store is data_dir/mail.db.
func TestStoreSourceSQLite(t *testing.T) {
	c, err := Load(writeConfig(t, "data_dir = \"/srv/mail\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	driver, src, err := c.StoreSource()
	if err != nil || driver != "sqlite" || src != "/srv/mail/mail.db" {
		t.Fatalf("StoreSource = %q, %q, %v", driver, src, err)
	}
}

// TestStoreSourcePasswordFile: the password of store.password_file (a
// path relative to the config) joins a DSN that has none, in both DSN
// forms and with characters that need quoting; a DSN's own password wins.
func TestStoreSourcePasswordFile(t *testing.T) {
	const pw = `p a's\s`
	for _, c := range []struct{ dsn, want string }{
		{"host=db dbname=mail user=ms", "host=db dbname=mail user=ms password='p a\\'s\\\\s'"},
		{"postgres://ms@db/mail", "postgres://ms@db/mail?password=p+a%27s%5Cs"},
		{"postgres://ms@db/mail?sslmode=disable", "postgres://ms@db/mail?sslmode=disable&password=p+a%27s%5Cs"},
		{"host=db password=own", "host=db password=own"},
	} {
		path := writeConfig(t, "[store]\ndriver = \"postgres\"\ndsn = \""+strings.ReplaceAll(c.dsn, `\`, `\\`)+"\"\npassword_file = \"db.password\"\n")
		if err := os.WriteFile(filepath.Join(filepath.Dir(path), "db.password"), []byte(pw+"\nsecond line\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		driver, src, err := cfg.StoreSource()
		if err != nil || driver != "postgres" || src != c.want {
			t.Errorf("%s: StoreSource = %q, %q, %v; want %q", c.dsn, driver, src, err, c.want)
		}
	}
	path := writeConfig(t, "[store]\ndriver = \"postgres\"\ndsn = \"host=db\"\npassword_file = \"missing\"\n")
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := cfg.StoreSource(); err == nil || !strings.Contains(err.Error(), "store.password_file") {
		t.Errorf("missing password file: %v", err)
	}
}

// TestStoreSourceOpensPostgres: a config naming a PostgreSQL database and
// a password file opens the store there.
func TestStoreSourceOpensPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	pw := regexp.MustCompile(`password=(\S+)`)
	secret := pw.FindStringSubmatch(dsn)[1]
	path := writeConfig(t, "[store]\ndriver = \"postgres\"\ndsn = \""+pw.ReplaceAllString(dsn, "")+"\"\npassword_file = \"pw\"\n")
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "pw"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	driver, src, err := cfg.StoreSource()
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenDriver(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Driver() != "postgres" || st.DSN() != src {
		t.Errorf("Driver %q DSN %q", st.Driver(), st.DSN())
	}
	if err := st.AddDomain(context.Background(), "example.com"); err != nil {
		t.Fatal(err)
	}
}
