package pgtest

import (
	"os"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

// Each DSN is a database of its own in one cluster, reached with the
// superuser's password over TCP on loopback.
func TestDSNGivesSeparateDatabases(t *testing.T) {
	a, b := DSN(t), DSN(t)
	if a == b {
		t.Fatalf("two calls gave one database: %s", a)
	}
	c := Start(t)
	if !strings.Contains(a, "host=127.0.0.1") || !strings.Contains(a, "password="+c.Password) {
		t.Fatalf("DSN %q: want loopback host and the password", a)
	}
	if err := c.Exec("postgres", "SELECT 1/0"); err == nil {
		t.Fatal("a failing statement reported no error")
	}
	if err := c.Exec("postgres", "SHOW fsync"); err != nil {
		t.Fatal(err)
	}
}
