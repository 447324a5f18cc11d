package store

import (
	"context"
	"testing"
	"time"
)

// TestSendingDisabledOn: true only for a user without SMTP authority, from
// an address (IPv6 by /64) she logged in from since the given time.
func TestSendingDisabledOn(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := openTest(t, WithClock(c.now))
	seed(t, s) // a@example.com, may send
	if _, err := s.AddUser(ctx, "ro@example.com", "hash", false); err != nil {
		t.Fatal(err)
	}
	for _, login := range []struct{ ip, user string }{{"192.0.2.1", "ro@example.com"}, {"2001:db8::1", "RO@example.com"}, {"192.0.2.2", "a@example.com"}} {
		a, err := s.ReserveAttempt(ctx, login.ip, login.user, testLimits)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AttemptSucceeded(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	c.t = c.t.Add(time.Hour)
	for _, tc := range []struct {
		ip, address string
		since       time.Duration // before now
		want        bool
	}{
		{"192.0.2.1", "ro@example.com", 2 * time.Hour, true},
		{"2001:db8::2", "ro@example.com", 2 * time.Hour, true}, // same /64
		{"192.0.2.1", "ro@example.com", 30 * time.Minute, false},
		{"192.0.2.3", "ro@example.com", 2 * time.Hour, false},
		{"192.0.2.2", "a@example.com", 2 * time.Hour, false}, // may send
		{"192.0.2.1", "a@example.com", 2 * time.Hour, false},
	} {
		got, err := s.SendingDisabledOn(ctx, tc.ip, tc.address, c.t.Add(-tc.since))
		if err != nil || got != tc.want {
			t.Errorf("SendingDisabledOn(%s, %s, now-%v) = %v, %v; want %v", tc.ip, tc.address, tc.since, got, err, tc.want)
		}
	}
}
