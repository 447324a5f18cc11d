package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		argv   string
		args   []string
		config string
		stdin  bool
	}{
		{"user add a@b --password-stdin", []string{"user", "add", "a@b"}, "", true},
		{"-config x.toml user add a@b", []string{"user", "add", "a@b"}, "x.toml", false},
		{"user -config=x.toml add a@b --password-stdin=true", []string{"user", "add", "a@b"}, "x.toml", true},
		{"--config x.toml domain add -- -x --password-stdin", []string{"domain", "add", "-x", "--password-stdin"}, "x.toml", false},
		{"alias add - b", []string{"alias", "add", "-", "b"}, "", false},
	} {
		inv, err := parseArgs(strings.Fields(tc.argv))
		if err != nil {
			t.Errorf("parseArgs(%q): %v", tc.argv, err)
			continue
		}
		if !slices.Equal(inv.args, tc.args) {
			t.Errorf("parseArgs(%q).args = %q, want %q", tc.argv, inv.args, tc.args)
		}
		if want := tc.config; want != "" && inv.configPath != want {
			t.Errorf("parseArgs(%q).configPath = %q, want %q", tc.argv, inv.configPath, want)
		}
		if inv.passwordStdin != tc.stdin {
			t.Errorf("parseArgs(%q).passwordStdin = %v, want %v", tc.argv, inv.passwordStdin, tc.stdin)
		}
	}
	for _, argv := range []string{"--bogus", "user add -config", "user add --no-smtp=maybe"} {
		var ue *usageError
		if _, err := parseArgs(strings.Fields(argv)); !errors.As(err, &ue) {
			t.Errorf("parseArgs(%q) = %v, want a usage error", argv, err)
		}
	}
}

// FuzzParseArgs checks that any command line parses without panicking,
// that operands keep their order, and that nothing flag-like becomes an
// operand unless it follows "--".
func FuzzParseArgs(f *testing.F) {
	f.Add("user\nadd\na@b\n--password-stdin")
	f.Add("-config\nx\ndomain\nlist")
	f.Add("--\n-x\n--config")
	f.Add("-\n--config=\n-h")
	f.Add("grants\nrevoke\n::1\n-disable=false")
	f.Fuzz(func(t *testing.T, s string) {
		argv := strings.Split(s, "\n")
		inv, err := parseArgs(argv)
		if err != nil {
			return
		}
		dash := slices.Index(argv, "--")
		for _, a := range inv.args {
			if len(a) > 1 && a[0] == '-' && dash < 0 {
				t.Fatalf("parseArgs(%q): flag-like operand %q", argv, a)
			}
		}
		// Operands are a subsequence of argv.
		i := 0
		for _, a := range argv {
			if i < len(inv.args) && a == inv.args[i] {
				i++
			}
		}
		if i != len(inv.args) {
			t.Fatalf("parseArgs(%q): operands %q out of order", argv, inv.args)
		}
		for name := range inv.set {
			if !slices.Contains([]string{"config", "password-stdin", "no-smtp", "disable"}, name) {
				t.Fatalf("parseArgs(%q): unknown flag %q set", argv, name)
			}
		}
	})
}
