package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"mailsuite/shared/auth"
)

func TestUserAdd(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.ok("s3cret pass\n", "user", "add", "Alice@Example.com", "--password-stdin")

	u := e.user("alice@example.com")
	if !auth.CheckPassword(u.Hash, "s3cret pass") || auth.CheckPassword(u.Hash, "wrong") {
		t.Errorf("stored hash %q does not check the password from stdin", u.Hash)
	}
	if !u.SMTP {
		t.Errorf("new user has no SMTP authority")
	}
	mbs, err := e.openStore().Mailboxes(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range mbs {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	if want := []string{"Drafts", "INBOX", "Junk", "Sent", "Trash"}; !slices.Equal(names, want) {
		t.Errorf("mailboxes = %q, want %q", names, want)
	}

	e.fail(1, "user alice@example.com already exists", "long enough\n", "user", "add", "alice@example.com", "--password-stdin")
	if !auth.CheckPassword(e.user("alice@example.com").Hash, "s3cret pass") {
		t.Errorf("failed duplicate add changed the password")
	}
}

func TestUserAddNoSMTP(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.ok("long enough\r\n", "user", "add", "--no-smtp", "b@example.com", "--password-stdin")
	if got, want := e.ok("", "user", "list"), lines("b@example.com\tsmtp=off"+noMail); got != want {
		t.Errorf("user list = %q, want %q", got, want)
	}
	if !auth.CheckPassword(e.user("b@example.com").Hash, "long enough") {
		t.Errorf("CRLF not stripped from the password")
	}
}

func TestUserAddErrors(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	long := strings.Repeat("a", 65) + "@example.com"
	for _, tc := range []struct {
		code  int
		want  string
		stdin string
		args  []string
	}{
		{1, "invalid address", "long enough\n", []string{"user", "add", "a@@example.com", "--password-stdin"}},
		{1, "empty local part", "long enough\n", []string{"user", "add", "@example.com", "--password-stdin"}},
		{1, "longer than", "long enough\n", []string{"user", "add", long, "--password-stdin"}},
		{1, "missing @", "long enough\n", []string{"user", "add", "example.com", "--password-stdin"}},
		{1, "unknown domain other.example", "long enough\n", []string{"user", "add", "a@other.example", "--password-stdin"}},
		{1, "empty password", "", []string{"user", "add", "a@example.com", "--password-stdin"}},
		{1, "--password-stdin or a terminal", "long enough\n", []string{"user", "add", "a@example.com"}},
		{2, "never from the command line", "", []string{"user", "add", "a@example.com", "hunter2"}},
		{2, "never from the command line", "", []string{"user", "add", "a@example.com", "--password-stdin", "hunter2"}},
		{2, "missing operand", "long enough\n", []string{"user", "add", "--password-stdin"}},
		{2, "user add does not take --disable", "long enough\n", []string{"user", "add", "a@example.com", "--password-stdin", "--disable"}},
	} {
		e.fail(tc.code, tc.want, tc.stdin, tc.args...)
	}
	if got := e.ok("", "user", "list"); got != "" {
		t.Errorf("after failed adds: user list = %q, want nothing", got)
	}
}

func TestUserPasswd(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.ok("old password\n", "user", "add", "a@example.com", "--password-stdin")
	e.ok("new password\n", "user", "passwd", "A@example.com", "--password-stdin")
	h := e.user("a@example.com").Hash
	if !auth.CheckPassword(h, "new password") || auth.CheckPassword(h, "old password") {
		t.Errorf("user passwd did not replace the password")
	}
	e.fail(1, "unknown user b@example.com", "long enough\n", "user", "passwd", "b@example.com", "--password-stdin")
	e.fail(2, "never from the command line", "", "user", "passwd", "a@example.com", "newer")
	e.fail(1, "empty password", "\n", "user", "passwd", "a@example.com", "--password-stdin")
	if !auth.CheckPassword(e.user("a@example.com").Hash, "new password") {
		t.Errorf("failed passwd changed the password")
	}
}

func TestUserSMTP(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.ok("long enough\n", "user", "add", "a@example.com", "--password-stdin")
	e.ok("", "user", "smtp", "a@example.com", "off")
	if got, want := e.ok("", "user", "list", "a@example.com"), lines("a@example.com\tsmtp=off"+noMail); got != want {
		t.Errorf("user list = %q, want %q", got, want)
	}
	e.ok("", "user", "smtp", "a@example.com", "on")
	if !e.user("a@example.com").SMTP {
		t.Errorf("user smtp on did not restore SMTP authority")
	}
	e.fail(2, "want on or off", "", "user", "smtp", "a@example.com", "yes")
	e.fail(1, "unknown user b@example.com", "", "user", "smtp", "b@example.com", "on")
}

func TestUserListRm(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.ok("", "domain", "add", "b.example")
	e.ok("long enough\n", "user", "add", "z@example.com", "--password-stdin")
	e.ok("long enough\n", "user", "add", "a@example.com", "--password-stdin", "--no-smtp")
	e.ok("long enough\n", "user", "add", "c@b.example", "--password-stdin")

	all := lines("c@b.example\tsmtp=on"+noMail, "a@example.com\tsmtp=off"+noMail, "z@example.com\tsmtp=on"+noMail)
	if got := e.ok("", "user", "list"); got != all {
		t.Errorf("user list = %q, want %q", got, all)
	}
	if got, want := e.ok("", "user", "list", "example.com"), lines("a@example.com\tsmtp=off"+noMail, "z@example.com\tsmtp=on"+noMail); got != want {
		t.Errorf("user list example.com = %q, want %q", got, want)
	}
	if got, want := e.ok("", "user", "list", "Z@EXAMPLE.COM"), lines("z@example.com\tsmtp=on"+noMail); got != want {
		t.Errorf("user list z@example.com = %q, want %q", got, want)
	}
	e.fail(1, "unknown user q@example.com", "", "user", "list", "q@example.com")
	e.fail(1, "unknown domain nope.example", "", "user", "list", "nope.example")

	e.ok("", "user", "rm", "z@example.com")
	e.fail(1, "unknown user z@example.com", "", "user", "rm", "z@example.com")
	e.fail(2, "want an ADDRESS", "", "user", "rm", "example.com")
	if got, want := e.ok("", "user", "list", "example.com"), lines("a@example.com\tsmtp=off"+noMail); got != want {
		t.Errorf("after rm: user list = %q, want %q", got, want)
	}
}
