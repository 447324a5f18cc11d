package main

import (
	"context"
	"testing"

	"mailsuite/shared/auth"
)

func TestDomainAddListRm(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "Example.COM.")
	e.ok("", "domain", "add", "b.example")
	if got, want := e.ok("", "domain", "list"), lines("b.example\tsmtp-password=off", "example.com\tsmtp-password=off"); got != want {
		t.Errorf("domain list = %q, want %q", got, want)
	}
	if got, want := e.ok("", "domain", "list", "EXAMPLE.com"), lines("example.com\tsmtp-password=off"); got != want {
		t.Errorf("domain list example.com = %q, want %q", got, want)
	}
	e.fail(1, "domain example.com already exists", "", "domain", "add", "example.com")
	e.fail(1, "unknown domain nope.example", "", "domain", "list", "nope.example")
	e.ok("", "domain", "rm", "b.example")
	if got, want := e.ok("", "domain", "list"), lines("example.com\tsmtp-password=off"); got != want {
		t.Errorf("after rm: domain list = %q, want %q", got, want)
	}
	e.fail(1, "unknown domain b.example", "", "domain", "rm", "b.example")
	e.fail(1, "invalid domain", "", "domain", "add", "localhost")
	e.fail(1, "invalid domain", "", "domain", "add", "bad_char.example")
}

func TestDomainIDNStoredAsPunycode(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "Bücher.Example")
	if got, want := e.ok("", "domain", "list"), lines("xn--bcher-kva.example\tsmtp-password=off"); got != want {
		t.Errorf("domain list = %q, want %q", got, want)
	}
	e.fail(1, "already exists", "", "domain", "add", "xn--bcher-kva.example")
	e.ok("long enough\n", "user", "add", "Info@bücher.example", "--password-stdin")
	if got, want := e.ok("", "user", "list", "bücher.example"), lines("info@xn--bcher-kva.example\tsmtp=on"+noMail); got != want {
		t.Errorf("user list = %q, want %q", got, want)
	}
	e.user("info@xn--bcher-kva.example")
}

func TestDomainRmRefusedWithUsers(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.ok("long enough\n", "user", "add", "a@example.com", "--password-stdin")
	e.fail(1, "domain example.com still has users", "", "domain", "rm", "example.com")
	e.user("a@example.com") // nothing removed
	e.ok("", "user", "rm", "a@example.com")
	e.ok("", "alias", "add", "x@example.com", "y@remote.example")
	e.fail(1, "still has users or aliases", "", "domain", "rm", "example.com")
	e.ok("", "alias", "rm", "x@example.com", "y@remote.example")
	e.ok("", "domain", "rm", "example.com")
}

func TestDomainSMTPPassword(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.ok("", "domain", "add", "example.com")
	e.ok("domain secret\n", "domain", "smtp-password", "example.com", "--password-stdin")
	if got, want := e.ok("", "domain", "list"), lines("example.com\tsmtp-password=on"); got != want {
		t.Errorf("domain list = %q, want %q", got, want)
	}
	cred, err := e.openStore().Credential(ctx, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !auth.CheckPassword(cred.Hash, "domain secret") || auth.CheckPassword(cred.Hash, "other") {
		t.Errorf("domain credential hash does not check the password from stdin")
	}

	e.ok("", "domain", "smtp-password", "example.com", "--disable")
	if got, want := e.ok("", "domain", "list"), lines("example.com\tsmtp-password=off"); got != want {
		t.Errorf("after --disable: domain list = %q, want %q", got, want)
	}
	if _, err := e.openStore().Credential(ctx, "example.com"); err == nil {
		t.Errorf("domain credential still valid after --disable")
	}

	e.fail(1, "unknown domain other.example", "long enough\n", "domain", "smtp-password", "other.example", "--password-stdin")
	e.fail(2, "not both", "long enough\n", "domain", "smtp-password", "example.com", "--password-stdin", "--disable")
	e.fail(2, "never from the command line", "", "domain", "smtp-password", "example.com", "hunter2")
	e.fail(1, "password", "", "domain", "smtp-password", "example.com", "--password-stdin") // empty stdin
	if got, want := e.ok("", "domain", "list"), lines("example.com\tsmtp-password=off"); got != want {
		t.Errorf("after failures: domain list = %q, want %q", got, want)
	}
}
