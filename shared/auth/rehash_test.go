package auth

import (
	"context"
	"strings"
	"testing"
)

// TestImportedHashRehashedAtLogin: hashes Dovecot made (doveadm pw) log
// in as they are, and the first login replaces them with argon2id of the
// same password, without revoking the session that logged in.
func TestImportedHashRehashedAtLogin(t *testing.T) {
	a, log, _ := authFixture(t)
	ctx := context.Background()
	for i, c := range []struct{ hash, pw string }{
		{"$argon2id$v=19$m=65536,t=3,p=1$XK3qLr+VVxf6tiDPwEJsBw$8ruc8QFKf5qR5kHEqh2YBUQJ7mX80pOfNRCQmilU5XA", "pass-ARGON2ID"},
		{"$2y$05$r2i3C5m4pRNtzIPU7iAwe..5/e8xUmCV9uetYHHu9Qg2EQVfUF5ai", "pass-BLF-CRYPT"},
		{"$6$/06hvPYInWlPJclz$v8c4YCxUk1bseKfW4oajanlRlUIhh2PHWfiD0N5N0mKKjEVSUwTx7gA93I7I0t26GsURkfU1MuMFhE5n/ABhK0", "pass-SHA512-CRYPT"},
		{"$5$Kd6/JPC8GD8/3qML$37ufURdlgn/pN6uSLpCN6Z0bVBVTHV40m9HYABKtGX.", "pass-SHA256-CRYPT"},
	} {
		addr := string(rune('b'+i)) + "@example.com"
		if _, err := a.Store.AddUser(ctx, addr, c.hash, true); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Check(ctx, ServiceIMAP, "192.0.2.9", addr, c.pw+"x"); err == nil {
			t.Errorf("%s: wrong password accepted", addr)
		}
		if u, _ := a.Store.UserByAddress(ctx, addr); u.Hash != c.hash {
			t.Errorf("%s: a failed login changed the hash", addr)
		}
		cred, err := a.Check(ctx, ServiceIMAP, "192.0.2.9", addr, c.pw)
		if err != nil {
			t.Fatalf("%s with %s: %v", addr, c.hash[:4], err)
		}
		u, _ := a.Store.UserByAddress(ctx, addr)
		upgraded := strings.HasPrefix(u.Hash, "$argon2id$v=19$m=19456,t=2,p=1$")
		if strings.HasPrefix(c.hash, "$argon2id$") {
			upgraded = u.Hash == c.hash // already argon2id: kept as it is
		}
		if !upgraded || !CheckPassword(u.Hash, c.pw) {
			t.Errorf("%s: stored hash after login %q", addr, u.Hash)
		}
		if _, err := a.Recheck(ctx, cred); err != nil {
			t.Errorf("%s: the session that re-hashed is revoked: %v", addr, err)
		}
		if _, err := a.Check(ctx, ServiceIMAP, "192.0.2.9", addr, c.pw); err != nil {
			t.Errorf("%s: second login: %v", addr, err)
		}
	}
	if strings.Contains(log.String(), "pass-") {
		t.Errorf("a password reached the log")
	}
}
