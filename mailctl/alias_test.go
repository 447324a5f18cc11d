package main

import (
	"context"
	"testing"
)

func TestAlias(t *testing.T) {
	e := newEnv(t)
	e.ok("", "domain", "add", "example.com")
	e.ok("", "domain", "add", "b.example")
	e.ok("long enough\n", "user", "add", "a@example.com", "--password-stdin")
	e.ok("", "alias", "add", "Sales@example.com", "A@example.com")
	e.ok("", "alias", "add", "sales@example.com", "out@remote.example")
	e.ok("", "alias", "add", "x@b.example", "sales@example.com")

	all := lines("sales@example.com\ta@example.com", "sales@example.com\tout@remote.example", "x@b.example\tsales@example.com")
	if got := e.ok("", "alias", "list"); got != all {
		t.Errorf("alias list = %q, want %q", got, all)
	}
	if got, want := e.ok("", "alias", "list", "b.example"), lines("x@b.example\tsales@example.com"); got != want {
		t.Errorf("alias list b.example = %q, want %q", got, want)
	}
	r, err := e.openStore().Route(context.Background(), "x@b.example", "mx.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Users) != 1 || r.Users[0].Address != "a@example.com" || len(r.Remote) != 1 || r.Remote[0] != "out@remote.example" {
		t.Errorf("Route(x@b.example) = %+v", r)
	}

	e.fail(1, "would make a loop", "", "alias", "add", "sales@example.com", "x@b.example")
	e.fail(1, "would make a loop", "", "alias", "add", "self@example.com", "self@example.com")
	e.fail(1, "a@example.com is a user", "", "alias", "add", "a@example.com", "sales@example.com")
	e.fail(1, "already exists", "", "alias", "add", "sales@example.com", "a@example.com")
	e.fail(1, "unknown domain other.example", "", "alias", "add", "a@other.example", "a@example.com")
	e.fail(1, "alias source: invalid address", "", "alias", "add", "a@@example.com", "a@example.com")
	e.fail(1, "alias target: invalid address", "", "alias", "add", "q@example.com", "nope")
	e.fail(1, "unknown domain nope.example", "", "alias", "list", "nope.example")
	e.fail(1, "is an alias", "long enough\n", "user", "add", "sales@example.com", "--password-stdin")
	e.fail(2, "missing operand", "", "alias", "add", "q@example.com")
	if got := e.ok("", "alias", "list"); got != all {
		t.Errorf("after failures: alias list = %q, want %q", got, all)
	}

	e.ok("", "alias", "rm", "x@b.example", "sales@example.com")
	e.fail(1, "unknown alias x@b.example -> sales@example.com", "", "alias", "rm", "x@b.example", "sales@example.com")
	if got, want := e.ok("", "alias", "list", "b.example"), ""; got != want {
		t.Errorf("after rm: alias list b.example = %q, want %q", got, want)
	}
}
