package main

import (
	"context"
	"testing"

	"mailsuite/shared/auth"
)

// TestRevocationReachesSession: alice authenticates on submission and
// sends; then the operator turns her SMTP authority off, changes her
// password or removes her. Her open session's next MAIL FROM is refused
// with a 530 that says why, and nothing more is queued.
func TestRevocationReachesSession(t *testing.T) {
	ctx := context.Background()
	const far = "friend@far.test"
	cases := []struct {
		name   string
		revoke func(e *testEnv) error
		reply  string
	}{
		{"smtp off", func(e *testEnv) error { return e.st.SetUserSMTP(ctx, alice, false) }, "5.7.0 Sending is disabled for this account"},
		{"passwd", func(e *testEnv) error {
			h, _ := auth.HashPassword("new secret")
			return e.st.SetUserPassword(ctx, alice, h)
		}, "5.7.0 Authentication no longer valid"},
		{"rm", func(e *testEnv) error { return e.st.RemoveUser(ctx, alice) }, "5.7.0 Authentication no longer valid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			c := dial(t, e.sub, "", false)
			c.ehlo()
			c.starttls()
			if code, msg := c.authPlain("", alice, userPass); code != 235 {
				t.Fatalf("AUTH: %d %s", code, msg)
			}
			c.must(250, "MAIL FROM:<%s>", alice)
			c.must(250, "RCPT TO:<%s>", far)
			if code, msg := c.data(testBody("before")); code != 250 {
				t.Fatalf("DATA: %d %s", code, msg)
			}
			if err := tc.revoke(e); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ {
				code, msg := c.cmd("MAIL FROM:<%s>", alice)
				if code != 530 || msg[:len(tc.reply)] != tc.reply {
					t.Fatalf("MAIL after revocation: %d %s, want 530 %s", code, msg, tc.reply)
				}
				if code, _ := c.cmd("RCPT TO:<%s>", far); code/100 != 5 {
					t.Fatalf("RCPT after a refused MAIL: %d", code)
				}
				if code, _ := c.cmd("DATA"); code/100 != 5 {
					t.Fatalf("DATA after a refused MAIL: %d", code)
				}
			}
			if q := e.queued(far); len(q) != 1 {
				t.Fatalf("%d messages queued for %s, want only the one sent before", len(q), far)
			}
			if !e.log.contains(`msg="session revoked" proto=smtp`) {
				t.Errorf("revocation not logged:\n%s", e.log)
			}
		})
	}
}
