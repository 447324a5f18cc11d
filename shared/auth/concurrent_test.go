package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// login is one call of Check.
type login struct {
	svc            Service
	ip, user, pass string
}

// wantAllIn fails the test for each login refused.
func wantAllIn(t *testing.T, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Errorf("login %d: %v", i, err)
		}
	}
}

// holdHashes runs the logins at once while every password hash is held,
// until each login is hashing, waiting for another, or has answered:
// however slow the machine, nothing that happens while the hashes are
// held is a reaction to their being slow, except a refusal for attempts
// still in progress. It then lets the hashes finish and returns the
// outcome of each login and how many passwords were hashed in all.
func holdHashes(t *testing.T, a *Authenticator, logins []login) ([]error, int) {
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
	for i, l := range logins {
		go func() {
			_, err := a.Check(context.Background(), l.svc, l.ip, l.user, l.pass)
			results <- result{i, err}
		}()
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
	logins := make([]login, 2*MaxFailuresPerAccount)
	for i := range logins {
		logins[i] = login{ServiceIMAP, "192.0.2.1", "a@example.com", "secret"}
	}
	errs, _ := holdHashes(t, a, logins)
	wantAllIn(t, errs)
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
	logins := make([]login, MaxFailuresPerIP+2)
	for i := range logins {
		user := fmt.Sprintf("u%d@example.com", i)
		if _, err := a.Store.AddUser(ctx, user, h, true); err != nil {
			t.Fatal(err)
		}
		logins[i] = login{ServicePOP3, "192.0.2.1", user, "secret"}
	}
	errs, _ := holdHashes(t, a, logins)
	wantAllIn(t, errs)
}

// TestAuthConcurrentGuessesSlowHash: many wrong passwords at once, the
// same one and different ones, while the hashes are held: still at most
// the account's limit is checked, the rest are refused once those fail.
func TestAuthConcurrentGuessesSlowHash(t *testing.T) {
	a, _, _ := authFixture(t)
	logins := make([]login, 40)
	for i := range logins {
		logins[i] = login{ServiceIMAP, fmt.Sprintf("198.51.100.%d", i%3+1), "a@example.com", fmt.Sprintf("guess%d", i%4)}
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
