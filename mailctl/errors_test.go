package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlagsAnywhere checks that -config and the other flags work before
// and after the command words, in -flag and --flag forms.
func TestFlagsAnywhere(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{
		{"-config", e.config, "domain", "add", "a.example"},
		{"--config=" + e.config, "domain", "add", "b.example"},
		{"domain", "--config", e.config, "add", "c.example"},
		{"domain", "add", "d.example", "-config=" + e.config},
	} {
		if out, errs, code := runBin(t, "", args...); code != 0 || out != "" || errs != "" {
			t.Errorf("mailctl %q: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	if out, errs, code := runBin(t, "long enough\n", "-password-stdin", "-config", e.config, "user", "add", "x@a.example"); code != 0 {
		t.Errorf("flags before the command: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	want := lines("a.example\tsmtp-password=off", "b.example\tsmtp-password=off", "c.example\tsmtp-password=off", "d.example\tsmtp-password=off")
	if got := e.ok("", "domain", "list"); got != want {
		t.Errorf("domain list = %q, want %q", got, want)
	}
	// "--" ends the flags.
	args := []string{"-config", e.config, "domain", "add", "--", "-x.example"}
	out, errs, code := runBin(t, "", args...)
	checkFailure(t, args, out, errs, code, 1, "invalid domain")
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"user", "add", "--help"}} {
		out, errs, code := runBin(t, "", args...)
		if code != 0 || errs != "" || !strings.Contains(out, "user add ADDRESS") || !strings.Contains(out, "grants revoke IP") {
			t.Errorf("mailctl %q: exit %d, stderr %q, stdout %q", args, code, errs, out)
		}
	}
	for _, tc := range []struct {
		want string
		args []string
	}{
		{"no command", nil},
		{"unknown command \"frobnicate\"", []string{"frobnicate"}},
		{"user: missing subcommand: add|passwd|smtp|rm|list", []string{"user"}},
		{"unknown subcommand \"del\"", []string{"domain", "del", "x.example"}},
		{"flag provided but not defined: -bogus", []string{"domain", "list", "--bogus"}},
		{"flag needs an argument: -config", []string{"domain", "list", "-config"}},
		{"domain list does not take --password-stdin", []string{"domain", "list", "--password-stdin"}},
		{"domain add: missing operand (usage: mailctl domain add DOMAIN)", []string{"domain", "add"}},
		{"too many operands", []string{"domain", "add", "a.example", "b.example"}},
		{"queue list does not take --no-smtp", []string{"queue", "list", "--no-smtp"}},
	} {
		out, errs, code := runBin(t, "", tc.args...)
		checkFailure(t, tc.args, out, errs, code, 2, tc.want)
	}
}

func TestEnvironmentErrors(t *testing.T) {
	e := newEnv(t)

	// A missing data directory is reported, not created.
	e.writeConfig("data_dir = \"missing\"\n")
	e.fail(1, "data directory", "", "domain", "list")
	if _, err := os.Stat(filepath.Join(e.dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("mailctl created the missing data dir: %v", err)
	}

	// Bad configuration: config.Load's error, on one line.
	e.writeConfig("data_dir = \"data\"\nbogus_key = 1\n")
	e.fail(1, "bogus_key", "", "domain", "list")
	e.writeConfig("data_dir = \"data\"\n[relay]\nwindow = \"soon\"\nsender_check = \"maybe\"\n")
	e.fail(1, "relay.window", "", "domain", "list")
	e.writeConfig("data_dir = = \n")
	e.fail(1, "config", "", "domain", "list")
	out, errs, code := runBin(t, "", "domain", "list", "-config", filepath.Join(e.dir, "nope.toml"))
	checkFailure(t, []string{"domain", "list"}, out, errs, code, 1, "nope.toml")

	// A store file that is not SQLite is refused and left alone.
	e.writeConfig("data_dir = \"data\"\n")
	junk := []byte(strings.Repeat("this is not a database\n", 100))
	if err := os.WriteFile(e.dbPath(), junk, 0o600); err != nil {
		t.Fatal(err)
	}
	e.fail(1, "not a mailsuite store", "", "domain", "add", "example.com")
	if got, err := os.ReadFile(e.dbPath()); err != nil || string(got) != string(junk) {
		t.Errorf("mailctl modified the non-SQLite file (err %v)", err)
	}
}

func TestBackup(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.ok("long enough\n", "user", "add", "a@example.com", "--password-stdin")
	dst := filepath.Join(e.dir, "backup.db")
	e.ok("", "backup", dst)

	// The copy is a store of its own with the same content.
	bak := &testEnv{t: t, dir: e.dir, config: filepath.Join(e.dir, "bak.toml"), dataDir: filepath.Join(e.dir, "bak")}
	if err := os.Mkdir(bak.dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dst, bak.dbPath()); err != nil {
		t.Fatal(err)
	}
	bak.writeConfig("data_dir = \"bak\"\n")
	if got, want := bak.ok("", "user", "list"), lines("a@example.com\tsmtp=on"+noMail); got != want {
		t.Errorf("user list of the backup = %q, want %q", got, want)
	}

	existing := filepath.Join(e.dir, "mailsuite.toml")
	e.fail(1, "exists", "", "backup", existing)
	e.fail(1, "backup", "", "backup", filepath.Join(e.dir, "no", "such", "dir", "b.db"))
	entries, _ := os.ReadDir(e.dir)
	for _, en := range entries {
		if strings.Contains(en.Name(), "partial") {
			t.Errorf("backup left %s behind", en.Name())
		}
	}
}
