package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestRoute checks the routing of every kind of address: users in any
// case, aliases to users and to remote addresses, postmaster@ and abuse@
// of local domains, the bare postmaster of a host with two labels and
// with one, and remote addresses, whose local part keeps its case.
func TestRoute(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.AddDomain(ctx, "example.com"))
	must(s.AddDomain(ctx, "xn--bcher-kva.example"))
	must(s.AddDomain(ctx, "other.example"))
	for _, u := range []string{"first@other.example", "a@example.com", "b@example.com", "k@xn--bcher-kva.example"} {
		if _, err := s.AddUser(ctx, u, "hash", true); err != nil {
			t.Fatal(err)
		}
	}
	must(s.AddAlias(ctx, "sales@example.com", "a@example.com"))
	must(s.AddAlias(ctx, "sales@example.com", "b@example.com"))
	must(s.AddAlias(ctx, "team@example.com", "sales@example.com"))
	must(s.AddAlias(ctx, "team@example.com", "a@example.com"))
	must(s.AddAlias(ctx, "out@example.com", "Friend@remote.test"))
	must(s.AddAlias(ctx, "postmaster@other.example", "ops@remote.test"))

	for _, tc := range []struct {
		addr, host string
		want       string // "local|users|remote", users and remote comma-separated
		canon      string
	}{
		{"a@example.com", "mx.example.com", "local|a@example.com|", "a@example.com"},
		{"A@EXAMPLE.com", "mx.example.com", "local|a@example.com|", "a@example.com"},
		{" a@example.com. ", "mx.example.com", "local|a@example.com|", "a@example.com"},
		{"k@BÜCHER.example", "mx.example.com", "local|k@xn--bcher-kva.example|", "k@xn--bcher-kva.example"},
		{"nobody@example.com", "mx.example.com", "local||", "nobody@example.com"},
		{"Sales@example.com", "mx.example.com", "local|a@example.com,b@example.com|", "sales@example.com"},
		{"team@example.com", "mx.example.com", "local|a@example.com,b@example.com|", "team@example.com"},
		{"out@example.com", "mx.example.com", "local||Friend@remote.test", "out@example.com"},
		{"postmaster@example.com", "mx.example.com", "local|a@example.com|", "postmaster@example.com"},
		{"Abuse@Example.com", "mx.example.com", "local|a@example.com|", "abuse@example.com"},
		{"postmaster@other.example", "mx.example.com", "local||ops@remote.test", "postmaster@other.example"},
		// The bare postmaster: postmaster@hostname, local even when
		// hostname is no local domain; it falls back to the store's
		// first user.
		{"postmaster", "mx.example.com", "local|first@other.example|", "postmaster@mx.example.com"},
		{"PostMaster", "MX.Example.COM.", "local|first@other.example|", "postmaster@mx.example.com"},
		{"postmaster@MX.example.com", "mx.example.com", "local|first@other.example|", "postmaster@mx.example.com"},
		{"postmaster", "localhost", "local|first@other.example|", "postmaster@localhost"},
		{"Postmaster@LOCALHOST", "localhost", "local|first@other.example|", "postmaster@localhost"},
		// A hostname that is a local domain: its aliases count.
		{"postmaster", "other.example", "local||ops@remote.test", "postmaster@other.example"},
		{"postmaster@mx.example.com", "localhost", "remote||postmaster@mx.example.com", "postmaster@mx.example.com"},
		{"Bob@Remote.Test", "mx.example.com", "remote||Bob@remote.test", "bob@remote.test"},
		{"x@bücher.test", "mx.example.com", "remote||x@xn--bcher-kva.test", "x@xn--bcher-kva.test"},
	} {
		r, err := s.Route(ctx, tc.addr, tc.host)
		if err != nil {
			t.Errorf("Route(%q, %q): %v", tc.addr, tc.host, err)
			continue
		}
		var users []string
		for _, u := range r.Users {
			users = append(users, u.Address)
		}
		where := "remote"
		if r.Local {
			where = "local"
		}
		got := where + "|" + strings.Join(users, ",") + "|" + strings.Join(r.Remote, ",")
		if got != tc.want || r.Addr != tc.canon {
			t.Errorf("Route(%q, %q) = %s (%s), want %s (%s)", tc.addr, tc.host, got, r.Addr, tc.want, tc.canon)
		}
	}

	for _, bad := range []string{"", "postmaster", "user", "a@", "@example.com", "a b@example.com", "a@localhost", "\"a@b\"@example.com"} {
		if r, err := s.Route(ctx, bad, "mx.example.com."+strings.Repeat("x", 300)); !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("Route(%q) = %+v, %v, want ErrInvalidAddress", bad, r, err)
		}
	}
}
