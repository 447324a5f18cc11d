package store

import (
	"context"
	"testing"
	"time"
)

// TestLogins: each successful login is recorded by account, protocol and
// address (IPv4-mapped addresses as plain IPv4), latest first, moved at
// most once a minute; removing the user forgets them.
func TestLogins(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := openTest(t, WithClock(c.now))
	u := seed(t, s)
	login := func(ip, proto string) {
		t.Helper()
		a, err := s.ReserveAttempt(ctx, ip, "A@Example.com", testLimits)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AttemptSucceeded(ctx, a, proto); err != nil {
			t.Fatal(err)
		}
	}
	start := c.t
	login("::ffff:127.0.0.3", "pop3")
	c.t = c.t.Add(10 * time.Minute)
	login("127.0.0.4", "imap")
	c.t = c.t.Add(30 * time.Second)
	login("127.0.0.3", "pop3") // 10 minutes after its last: moves
	c.t = c.t.Add(30 * time.Second)
	login("127.0.0.3", "pop3") // 30 s after the last: stays
	got, err := s.Logins(ctx, u.Address)
	if err != nil {
		t.Fatal(err)
	}
	want := []Login{
		{"pop3", "127.0.0.3", start.Add(10*time.Minute + 30*time.Second)},
		{"imap", "127.0.0.4", start.Add(10 * time.Minute)},
	}
	if len(got) != len(want) {
		t.Fatalf("logins = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Proto != want[i].Proto || got[i].IP != want[i].IP || !got[i].Last.Equal(want[i].Last) {
			t.Errorf("login %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if err := s.RemoveUser(ctx, u.Address); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Logins(ctx, u.Address); err != nil || len(got) != 0 {
		t.Errorf("after user rm: %+v, %v", got, err)
	}
}
