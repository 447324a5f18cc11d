package auth

import (
	"context"
	"testing"
)

// BenchmarkAuthCheckCached is a login whose password is in the login
// cache (a client polling again): no argon2id, so what is left is the
// store's work, the throttle's count and record included.
func BenchmarkAuthCheckCached(b *testing.B) {
	a, _, _ := authFixtureTB(b)
	ctx := context.Background()
	if _, err := a.Check(ctx, ServicePOP3, "192.0.2.1", "a@example.com", "secret"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := a.Check(ctx, ServicePOP3, "192.0.2.1", "a@example.com", "secret"); err != nil {
			b.Fatal(err)
		}
	}
}
