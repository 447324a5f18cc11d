package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

var testLimits = ThrottleLimits{Window: time.Minute, PerIP: 10, PerAccount: 5, KnownFor: 30 * 24 * time.Hour}

// failAttempt records a settled failed login, as a wrong password does.
func failAttempt(s *Store, ip, login string) error {
	a, err := s.ReserveAttempt(context.Background(), ip, login, testLimits)
	if err != nil {
		return err
	}
	return s.AttemptFailed(context.Background(), a)
}

func TestThrottleCounts(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := openTest(t, WithClock(c.now))
	for i := 0; i < 3; i++ {
		s.ReserveAttempt(ctx, "10.0.0.1", "a@example.com", testLimits)
	}
	s.ReserveAttempt(ctx, "10.0.0.2", "B@example.com", testLimits)
	ipN, acctN, err := s.AuthFailures(ctx, "10.0.0.1", "b@example.com", c.t.Add(-time.Minute))
	if err != nil || ipN != 3 || acctN != 1 {
		t.Fatalf("got %d %d %v", ipN, acctN, err)
	}
	ipN, _, _ = s.AuthFailures(ctx, "10.0.0.1", "x", c.t.Add(time.Second))
	if ipN != 0 {
		t.Fatalf("old failures counted: %d", ipN)
	}
}

// TestReserveAttemptParallel: 100 attempts at once for one account from
// one address; exactly the account's limit are let through.
func TestReserveAttemptParallel(t *testing.T) {
	s := openTest(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	passed, refused := 0, 0
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ReserveAttempt(context.Background(), "192.0.2.1", "a@example.com", testLimits)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				passed++
			case errors.Is(err, ErrAttemptsPending), errors.Is(err, ErrThrottledAccount):
				refused++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if passed != testLimits.PerAccount || refused != 100-testLimits.PerAccount {
		t.Fatalf("%d passed, %d refused; want %d passed", passed, refused, testLimits.PerAccount)
	}
}

// TestThrottleCanonicalKeys: every spelling of one account shares its
// bucket, and the addresses of one IPv6 /64 share theirs.
func TestThrottleCanonicalKeys(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	spellings := []string{"carol@example.test.", " carol@example.test", "CAROL@EXAMPLE.TEST",
		"carol@ｅｘａｍｐｌｅ.test", "Carol@Example.Test "}
	for i, login := range spellings {
		if err := failAttempt(s, "10.0.0.1", login); err != nil {
			t.Fatalf("attempt %d (%q): %v", i, login, err)
		}
	}
	if _, err := s.ReserveAttempt(ctx, "10.0.0.2", "carol@example.test", testLimits); !errors.Is(err, ErrThrottledAccount) {
		t.Fatalf("sixth spelling from another IP: %v, want ErrThrottledAccount", err)
	}
	for i := 0; i < testLimits.PerIP; i++ {
		ip := fmt.Sprintf("2001:db8:1:2::%x", i+1)
		if err := failAttempt(s, ip, fmt.Sprintf("u%d@example.test", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ReserveAttempt(ctx, "2001:db8:1:2:ffff::1", "z@example.test", testLimits); !errors.Is(err, ErrThrottledIP) {
		t.Fatalf("another address of the same /64: %v, want ErrThrottledIP", err)
	}
	if _, err := s.ReserveAttempt(ctx, "2001:db8:1:3::1", "z@example.test", testLimits); err != nil {
		t.Fatalf("another /64: %v", err)
	}
}

// TestThrottleOwnerExempt: an address that logged in before, or holds a
// live grant, is not refused by the account's limit; others are; a
// successful attempt no longer counts.
func TestThrottleOwnerExempt(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := openTest(t, WithClock(c.now))
	u := seed(t, s)
	a, err := s.ReserveAttempt(ctx, "192.0.2.1", "a@example.com", testLimits)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AttemptSucceeded(ctx, a, "imap"); err != nil {
		t.Fatal(err)
	}
	if _, acctN, _ := s.AuthFailures(ctx, "192.0.2.1", "a@example.com", c.t.Add(-time.Minute)); acctN != 0 {
		t.Fatalf("a successful attempt still counts: %d", acctN)
	}
	if err := s.Grant(ctx, "192.0.2.2", u.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < testLimits.PerAccount; i++ {
		failAttempt(s, "198.51.100."+string(rune('1'+i)), "a@example.com")
	}
	if _, err := s.ReserveAttempt(ctx, "198.51.100.100", "a@example.com", testLimits); !errors.Is(err, ErrThrottledAccount) {
		t.Fatalf("a stranger: %v, want ErrThrottledAccount", err)
	}
	for _, ip := range []string{"192.0.2.1", "192.0.2.2"} {
		if _, err := s.ReserveAttempt(ctx, ip, "A@example.com", testLimits); err != nil {
			t.Fatalf("owner at %s: %v", ip, err)
		}
	}
	// A password change forgets the known devices.
	if err := s.SetUserPassword(ctx, "a@example.com", "new"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReserveAttempt(ctx, "192.0.2.1", "a@example.com", testLimits); !errors.Is(err, ErrThrottledAccount) {
		t.Fatalf("known device after a password change: %v, want ErrThrottledAccount", err)
	}
	// A device is known for KnownFor only.
	a, _ = s.ReserveAttempt(ctx, "192.0.2.3", "b@example.com", testLimits)
	s.AttemptSucceeded(ctx, a, "imap")
	c.t = c.t.Add(testLimits.KnownFor + time.Hour)
	for i := 0; i < testLimits.PerAccount; i++ {
		failAttempt(s, "198.51.100."+string(rune('1'+i)), "b@example.com")
	}
	if _, err := s.ReserveAttempt(ctx, "192.0.2.3", "b@example.com", testLimits); !errors.Is(err, ErrThrottledAccount) {
		t.Fatalf("device known long ago: %v, want ErrThrottledAccount", err)
	}
}

// TestRevocationDropsGrants: a password change, SMTP authority turned off
// and removal each delete the user's grants.
func TestRevocationDropsGrants(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := seed(t, s)
	for name, revoke := range map[string]func() error{
		"passwd":   func() error { return s.SetUserPassword(ctx, "a@example.com", "h2") },
		"smtp off": func() error { return s.SetUserSMTP(ctx, "a@example.com", false) },
		"rm":       func() error { return s.RemoveUser(ctx, "a@example.com") },
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := s.UserByAddress(ctx, "a@example.com"); err != nil {
				id, _ := s.AddUser(ctx, "a@example.com", "hash", true)
				u.ID = id
			}
			s.SetUserSMTP(ctx, "a@example.com", true)
			if err := s.Grant(ctx, "192.0.2.1", u.ID, time.Hour); err != nil {
				t.Fatal(err)
			}
			if err := revoke(); err != nil {
				t.Fatal(err)
			}
			if g, _ := s.LiveGrants(ctx, "192.0.2.1"); len(g) != 0 {
				t.Fatalf("grants left: %+v", g)
			}
		})
	}
}

// TestWriteLazyKeepsWriterDurable: after the throttle's unsynced writes,
// the writer connection is back to synchronous=FULL for deliveries.
func TestWriteLazyKeepsWriterDurable(t *testing.T) {
	s := openTest(t)
	seed(t, s)
	a, err := s.ReserveAttempt(context.Background(), "192.0.2.1", "a@example.com", testLimits)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AttemptSucceeded(context.Background(), a, "imap"); err != nil {
		t.Fatal(err)
	}
	if mode, err := syncLevel(s); err != nil || mode != 2 {
		t.Fatalf("writer synchronous = %d, %v; want 2 (FULL)", mode, err)
	}
}

// TestPendingAttempts: while the limit is reached only by attempts in
// progress, a further one is told to wait (ErrAttemptsPending), not
// refused; once they succeed it passes, once they fail it is refused.
func TestPendingAttempts(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	var inFlight []Attempt
	for i := 0; i < testLimits.PerAccount; i++ {
		a, err := s.ReserveAttempt(ctx, "192.0.2.1", "a@example.com", testLimits)
		if err != nil {
			t.Fatal(err)
		}
		inFlight = append(inFlight, a)
	}
	if _, err := s.ReserveAttempt(ctx, "192.0.2.1", "a@example.com", testLimits); !errors.Is(err, ErrAttemptsPending) {
		t.Fatalf("with %d in flight: %v, want ErrAttemptsPending", len(inFlight), err)
	}
	s.AttemptSucceeded(ctx, inFlight[0], "imap")
	a, err := s.ReserveAttempt(ctx, "192.0.2.1", "a@example.com", testLimits)
	if err != nil {
		t.Fatalf("after one succeeded: %v", err)
	}
	for _, a := range append(inFlight[1:], a) {
		s.AttemptFailed(ctx, a)
	}
	if _, err := s.ReserveAttempt(ctx, "192.0.2.9", "a@example.com", testLimits); !errors.Is(err, ErrThrottledAccount) {
		t.Fatalf("after %d failures: %v, want ErrThrottledAccount", testLimits.PerAccount, err)
	}
}
