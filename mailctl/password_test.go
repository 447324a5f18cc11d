package main

import (
	"strings"
	"testing"

	"mailsuite/shared/auth"
)

// TestPasswordRules: mailctl refuses a new password that is too short,
// holds NUL or CR, or is the address or its local part, with one line on
// stderr and exit 1, and leaves the stored password as it was.
func TestPasswordRules(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.ok("first password\n", "user", "add", "alexandrina@example.com", "--password-stdin")
	for _, tc := range []struct{ stdin, want string }{
		{"short\n", "password: 5 characters, at least 10 needed (auth.min_password_length)"},
		{"ninechars\n", "at least 10 needed"},
		{"long enough\x00x\n", "password: must not contain NUL, CR or LF"},
		{"long\renough\n", "must not contain NUL, CR or LF"},
		{"alexandrina@example.com\n", "password: must not be the address or its local part"},
		{"Alexandrina@Example.COM\n", "must not be the address"},
		{"ALEXANDRINA\n", "must not be the address"},
	} {
		_, stderr, code := e.exec(tc.stdin, "user", "passwd", "alexandrina@example.com", "--password-stdin")
		if code != 1 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("passwd %q: exit %d, stderr %q; want 1 and one line with %q", tc.stdin, code, stderr, tc.want)
		}
	}
	if !auth.CheckPassword(e.user("alexandrina@example.com").Hash, "first password") {
		t.Error("a refused password changed the stored one")
	}
	e.fail(1, "at least 10 needed", "short\n", "user", "add", "bo@example.com", "--password-stdin")
	e.fail(1, "must not be the address", "bernadette\n", "user", "add", "bernadette@example.com", "--password-stdin")
	for _, addr := range []string{"bo@example.com", "bernadette@example.com"} {
		if _, _, code := e.exec("", "user", "list", addr); code == 0 {
			t.Errorf("a refused user add created %s", addr)
		}
	}
	e.fail(1, "must not be the address", "example.com\n", "domain", "smtp-password", "example.com", "--password-stdin")
	e.ok("ten chars!\n", "user", "passwd", "alexandrina@example.com", "--password-stdin")

	// The minimum is the operator's.
	e.writeConfig("hostname = \"mail.test\"\ndata_dir = \"data\"\n[auth]\nmin_password_length = 16\n")
	e.fail(1, "at least 16 needed", "fifteen chars!!\n", "user", "passwd", "alexandrina@example.com", "--password-stdin")
	e.ok("sixteen chars!!!\n", "user", "passwd", "alexandrina@example.com", "--password-stdin")
}
