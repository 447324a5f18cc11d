package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// holdHashes runs the logins at once while every password hash is held,
// until each login is hashing, waiting for another, or has answered:
// however slow the machine, nothing that happens while the hashes are
// held is a reaction to their being slow, except a refusal for attempts
// still in progress. It then lets the hashes finish and returns the
// outcome of each login and how many passwords were hashed in all.
func holdHashes(t *testing.T, a *Authenticator, logins []func() error) ([]error, int) {
	t.Helper()
	held := make(chan struct{}, len(logins))
	release := make(chan struct{})
	a.hashHook = func() {
		held <- struct{}{}
		<-release
	}
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(logins))
	for i, login := range logins {
		go func() { results <- result{i, login()} }()
	}
	errs := make([]error, len(logins))
	hashing, answered := 0, 0
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	give := time.After(2 * time.Minute)
	for hashing+answered+int(a.waiting.Load()) < len(logins) {
		select {
		case <-held:
			hashing++
		case r := <-results:
			errs[r.i] = r.err
			answered++
		case <-tick.C: // a.waiting moved
		case <-give:
			close(release)
			t.Fatalf("logins neither hashing (%d), answered (%d) nor waiting (%d) after 2 minutes",
				hashing, answered, a.waiting.Load())
		}
	}
	t.Logf("while the hashes were held: %d hashing, %d waiting, %d answered", hashing, a.waiting.Load(), answered)
	close(release)
	for ; answered < len(logins); answered++ {
		r := <-results
		errs[r.i] = r.err
	}
	return errs, hashing + len(held)
}

// TestAuthConcurrentLoginsSlowHash: a client opens twice the account's
// limit of connections at once, all with the right password, while the
// hash takes as long as it takes (here: until everything else has
// happened). None is refused: the identical logins share one check.
func TestAuthConcurrentLoginsSlowHash(t *testing.T) {
	a, _, _ := authFixture(t)
	logins := make([]func() error, 2*MaxFailuresPerAccount)
	for i := range logins {
		logins[i] = func() error {
			_, err := a.Check(context.Background(), ServiceIMAP, "192.0.2.1", "a@example.com", "secret")
			return err
		}
	}
	errs, _ := holdHashes(t, a, logins)
	for i, err := range errs {
		if err != nil {
			t.Errorf("login %d: %v", i, err)
		}
	}
}

// TestAuthConcurrentUsersOneAddressSlowHash: more users than the
// address's limit log in at once from one address (an office behind
// NAT), each with the right password, while the hashes are held. The
// ones over the limit wait for the attempts in progress instead of being
// refused for them.
func TestAuthConcurrentUsersOneAddressSlowHash(t *testing.T) {
	a, _, _ := authFixture(t)
	ctx := context.Background()
	h, err := HashPassword("secret")
	if err != nil {
		t.Fatal(err)
	}
	logins := make([]func() error, MaxFailuresPerIP+2)
	for i := range logins {
		user := fmt.Sprintf("u%d@example.com", i)
		if _, err := a.Store.AddUser(ctx, user, h, true); err != nil {
			t.Fatal(err)
		}
		logins[i] = func() error {
			_, err := a.Check(ctx, ServicePOP3, "192.0.2.1", user, "secret")
			return err
		}
	}
	errs, _ := holdHashes(t, a, logins)
	for i, err := range errs {
		if err != nil {
			t.Errorf("user %d: %v", i, err)
		}
	}
}

// TestAuthConcurrentGuessesSlowHash: many wrong passwords at once, the
// same one and different ones, while the hashes are held: still at most
// the account's limit is checked, the rest are refused once those fail.
func TestAuthConcurrentGuessesSlowHash(t *testing.T) {
	a, _, _ := authFixture(t)
	logins := make([]func() error, 40)
	for i := range logins {
		pass := fmt.Sprintf("guess%d", i%4)
		ip := fmt.Sprintf("198.51.100.%d", i%3+1)
		logins[i] = func() error {
			_, err := a.Check(context.Background(), ServiceIMAP, ip, "a@example.com", pass)
			return err
		}
	}
	errs, hashes := holdHashes(t, a, logins)
	for i, err := range errs {
		if !errors.Is(err, ErrAuthFailed) && !errors.Is(err, ErrThrottled) {
			t.Errorf("guess %d: %v", i, err)
		}
	}
	if hashes > MaxFailuresPerAccount {
		t.Errorf("%d passwords hashed, want at most %d", hashes, MaxFailuresPerAccount)
	}
}
