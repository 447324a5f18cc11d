package main

import (
	"context"
	"testing"
	"time"
)

func TestGrants(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.ok("", "domain", "add", "example.com")
	e.ok("pw\n", "user", "add", "a@example.com", "--password-stdin")
	e.ok("pw\n", "user", "add", "b@example.com", "--password-stdin")
	if got := e.ok("", "grants", "list"); got != "" {
		t.Errorf("grants list on an empty store = %q", got)
	}

	st := e.openStore()
	a, b := e.user("a@example.com"), e.user("b@example.com")
	for _, g := range []struct {
		ip string
		id int64
	}{{"192.0.2.1", a.ID}, {"::ffff:192.0.2.1", b.ID}, {"2001:db8::1", a.ID}} {
		if err := st.Grant(ctx, g.ip, g.id, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	grants, err := st.Grants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, g := range grants {
		want = append(want, g.IP+"\t"+g.User.Address+"\t"+g.Expires.UTC().Format(time.RFC3339))
	}
	if len(want) != 3 {
		t.Fatalf("store has %d grants, want 3", len(want))
	}
	if got := e.ok("", "grants", "list"); got != lines(want...) {
		t.Errorf("grants list = %q, want %q", got, lines(want...))
	}
	exp, err := time.Parse(time.RFC3339, grants[0].Expires.UTC().Format(time.RFC3339))
	if err != nil || exp.Before(time.Now()) {
		t.Errorf("expiry %v does not parse as a future RFC 3339 time: %v", exp, err)
	}

	// A change prints nothing, even when there was nothing to revoke.
	if got := e.ok("", "grants", "revoke", "::ffff:192.0.2.1"); got != "" {
		t.Errorf("grants revoke printed %q, want nothing", got)
	}
	if got := e.ok("", "grants", "revoke", "192.0.2.1"); got != "" {
		t.Errorf("second grants revoke printed %q, want nothing", got)
	}
	var left string
	for i, g := range grants {
		if g.IP == "2001:db8::1" {
			left = lines(want[i])
		}
	}
	if got := e.ok("", "grants", "list"); got != left {
		t.Errorf("after revoke: grants list = %q, want %q", got, left)
	}
	e.fail(1, "invalid IP address", "", "grants", "revoke", "not-an-ip")
	e.fail(2, "too many operands", "", "grants", "list", "extra")
}
