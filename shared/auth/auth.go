// Package auth is the one login check of all three daemons: password
// hashes, the throttle kept in the store, the login cache, and the log
// lines fail2ban matches.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"mailsuite/metrics"
	"mailsuite/store"
)

// Service is what a login is for. It decides which credentials count: a
// domain-level credential is valid for SMTP only.
type Service string

// The services that check credentials.
const (
	ServicePOP3 Service = "pop3"
	ServiceIMAP Service = "imap"
	ServiceSMTP Service = "smtp"
)

// Authentication outcomes other than success. Callers map them to their
// protocol's reply; none of them says whether the account exists.
var (
	ErrAuthFailed = errors.New("authentication failed")
	ErrThrottled  = errors.New("too many failed logins, try again later")
)

// FailureDelay is how long a daemon waits before answering a failed login,
// to slow down password guessing on one connection.
const FailureDelay = time.Second

// ErrRevoked is Recheck's answer for a credential that no longer stands:
// the account was removed, re-created or its password changed.
var ErrRevoked = errors.New("credential revoked")

// Authenticator checks logins against the store, with throttling shared by
// all daemons through the store.
type Authenticator struct {
	Store *store.Store
	Log   *slog.Logger
	// Metrics counts the logins by result; nil counts nothing.
	Metrics *metrics.Metrics
	// NoGrant lists the addresses whose POP3 and IMAP logins record no
	// relay grant (relay.no_grant_from).
	NoGrant []netip.Prefix

	cache   loginCache
	flights flights
	settled signal // broadcast when an attempt of this process settles
	// retry is held by a waiting login while it counts again, so that
	// the waiters of this process do not crowd out of the store's one
	// writer the settlements they wait for.
	retry sync.Mutex
	// waiting counts the logins waiting for others to end (a flight or
	// attempts in progress); tests watch it.
	waiting atomic.Int32
	// hashHook, when set, runs before each password hash; tests hold
	// the hash with it.
	hashHook func()
}

// Check verifies login and password for a service from the TCP peer ip.
// The attempt is counted in the store before the password is looked at
// (see store.ReserveAttempt), so parallel guesses cannot all slip under
// the limit; a refused attempt logs "auth throttled" and checks nothing.
// On success it returns the credential; on failure it logs one
// "auth failed" line and returns ErrAuthFailed or ErrThrottled. The
// password is never logged. Identical logins in progress share one check
// (see flights).
func (a *Authenticator) Check(ctx context.Context, svc Service, ip, login, password string) (_ store.Credential, err error) {
	defer func() { a.Metrics.Login(string(svc), loginResult(err)) }()
	key := a.flightKey(svc, ip, login, password)
	for {
		fl, lead := a.flights.join(key)
		if lead {
			cred, err := a.check(ctx, svc, ip, login, password)
			a.flights.land(key, fl, cred, err)
			return cred, err
		}
		a.waiting.Add(1)
		select {
		case <-fl.done:
		case <-ctx.Done():
		}
		a.waiting.Add(-1)
		if err := ctx.Err(); err != nil {
			return store.Credential{}, fmt.Errorf("auth: %w", err)
		}
		if fl.err == nil {
			LogSuccess(a.Log, string(svc), ip, fl.cred.Name)
			return fl.cred, nil
		}
	}
}

// check is Check for one login: throttle, password, log line.
func (a *Authenticator) check(ctx context.Context, svc Service, ip, login, password string) (store.Credential, error) {
	att, err := a.reserve(ctx, ip, login)
	switch {
	case errors.Is(err, store.ErrThrottledIP):
		LogThrottled(a.Log, string(svc), ip, login, "address limit")
		return store.Credential{}, ErrThrottled
	case errors.Is(err, store.ErrThrottledAccount), errors.Is(err, store.ErrAttemptsPending):
		LogThrottled(a.Log, string(svc), ip, login, "account limit")
		return store.Credential{}, ErrThrottled
	case err != nil:
		return store.Credential{}, fmt.Errorf("auth: %w", err)
	}
	cred, err := a.Store.Credential(ctx, login)
	switch {
	case errors.Is(err, store.ErrNotFound):
		DummyCheck(password)
		return store.Credential{}, a.fail(ctx, att, svc, ip, login, "unknown user")
	case err != nil:
		return store.Credential{}, fmt.Errorf("auth: %w", err)
	}
	now := a.Store.Now()
	if !a.cache.ok(cred.Name, cred.Hash, password, now) {
		if a.hashHook != nil {
			a.hashHook()
		}
		if !CheckPassword(cred.Hash, password) {
			return store.Credential{}, a.fail(ctx, att, svc, ip, login, "bad password")
		}
		a.cache.put(cred.Name, cred.Hash, password, now)
	}
	cred = a.upgrade(ctx, cred, password)
	if cred.Kind == store.CredDomain && svc != ServiceSMTP {
		return store.Credential{}, a.fail(ctx, att, svc, ip, login, "domain credential is for SMTP only")
	}
	// Should this write fail, the attempt merely keeps counting as a
	// failure for a minute: the login itself stands.
	if err := a.Store.AttemptSucceeded(ctx, att, string(svc)); err != nil {
		a.Log.Error("record login", "ip", ip, "user", cred.Name, "err", err)
	}
	a.settled.broadcast()
	LogSuccess(a.Log, string(svc), ip, cred.Name)
	return cred, nil
}

// fail logs a failed login and settles its attempt as a failure.
func (a *Authenticator) fail(ctx context.Context, att store.Attempt, svc Service, ip, login, reason string) error {
	LogFailure(a.Log, string(svc), ip, login, reason)
	if err := a.Store.AttemptFailed(ctx, att); err != nil {
		a.Log.Error("record failed login", "ip", ip, "err", err)
	}
	a.settled.broadcast()
	return ErrAuthFailed
}

// reserve is ReserveAttempt that waits while only attempts in progress
// stand between it and a limit. Each of them either settles, as a
// success that leaves the count or as a failure that then refuses this
// login for a reason, or, should its process have died, stops counting
// after ThrottleWindow: so a login is never refused for attempts that
// have not failed, however long their hashes take on a loaded machine,
// and the wait ends within ThrottleWindow (or ctx). Settlements in this
// process wake it at once; those of the other daemons are seen by
// polling. A burst of wrong passwords stays bounded: at most the limit
// of them is checked, the rest wait for those to fail and are refused.
func (a *Authenticator) reserve(ctx context.Context, ip, login string) (store.Attempt, error) {
	deadline := time.Now().Add(ThrottleWindow)
	waiting := false
	defer func() {
		if waiting {
			a.waiting.Add(-1)
		}
	}()
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		settled := a.settled.wait() // before the count, so no settlement is missed
		if waiting {
			a.retry.Lock()
		}
		att, err := a.Store.ReserveAttempt(ctx, ip, login, throttleLimits)
		if waiting {
			a.retry.Unlock()
			if err != nil && ctx.Err() != nil {
				// Time ran out while attempts were in progress: refused
				// for them, as the caller's deadline demands.
				return att, store.ErrAttemptsPending
			}
		}
		if !errors.Is(err, store.ErrAttemptsPending) || time.Now().After(deadline) {
			return att, err
		}
		if !waiting {
			waiting = true
			a.waiting.Add(1)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return att, err
		case <-settled:
		case <-t.C:
		}
		t.Stop()
	}
}

// Recheck tells whether a credential accepted earlier in a session still
// stands, and returns it as the store has it now (SMTP authority may have
// changed). It compares the stored hash and user ID, which a password
// change, a removal or a re-created account all change, so no password is
// hashed again. ErrRevoked means the session must not go on.
func (a *Authenticator) Recheck(ctx context.Context, cred store.Credential) (store.Credential, error) {
	now, err := a.Store.Credential(ctx, cred.Name)
	if errors.Is(err, store.ErrNotFound) {
		return store.Credential{}, ErrRevoked
	}
	if err != nil {
		return store.Credential{}, fmt.Errorf("auth: recheck %s: %w", cred.Name, err)
	}
	if now.Kind != cred.Kind || now.UserID != cred.UserID || now.Hash != cred.Hash {
		return store.Credential{}, ErrRevoked
	}
	return now, nil
}

// RecheckChanged is Recheck for a check before every command: it reads
// the store's credential stamp (a stat), and re-reads the credential only
// when the stamp moved since *seen, which it then advances. A session
// takes *seen with Store.CredentialStamp before its login's Check, so a
// change between the two is not missed.
func (a *Authenticator) RecheckChanged(ctx context.Context, cred store.Credential, seen *store.CredentialStamp) error {
	now := a.Store.CredentialStamp()
	if now.Known() && now == *seen {
		return nil
	}
	if _, err := a.Recheck(ctx, cred); err != nil {
		return err
	}
	*seen = now
	return nil
}
