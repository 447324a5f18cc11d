package shared

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

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

// Authenticator checks logins against the store, with throttling shared by
// all daemons through the store.
type Authenticator struct {
	Store *store.Store
	Log   *slog.Logger

	cache loginCache
}

// Check verifies login and password for a service from the TCP peer ip.
// On success it returns the credential; on failure it records the failure
// (per IP and per account), logs one "auth failed" line and returns
// ErrAuthFailed or ErrThrottled. The password is never logged.
func (a *Authenticator) Check(ctx context.Context, svc Service, ip, login, password string) (store.Credential, error) {
	since := a.Store.Now().Add(-ThrottleWindow)
	ipN, acctN, err := a.Store.AuthFailures(ctx, ip, login, since)
	if err != nil {
		return store.Credential{}, fmt.Errorf("auth: %w", err)
	}
	if ipN >= MaxFailuresPerIP || acctN >= MaxFailuresPerAccount {
		LogAuthFailure(a.Log, string(svc), ip, login, "throttled")
		return store.Credential{}, ErrThrottled
	}
	cred, err := a.Store.Credential(ctx, login)
	switch {
	case errors.Is(err, store.ErrNotFound):
		DummyCheck(password)
		return store.Credential{}, a.fail(ctx, svc, ip, login, "unknown user")
	case err != nil:
		return store.Credential{}, fmt.Errorf("auth: %w", err)
	}
	now := a.Store.Now()
	if !a.cache.ok(cred.Name, cred.Hash, password, now) {
		if !CheckPassword(cred.Hash, password) {
			return store.Credential{}, a.fail(ctx, svc, ip, login, "bad password")
		}
		a.cache.put(cred.Name, cred.Hash, password, now)
	}
	if cred.Kind == store.CredDomain && svc != ServiceSMTP {
		return store.Credential{}, a.fail(ctx, svc, ip, login, "domain credential is for SMTP only")
	}
	LogAuthSuccess(a.Log, string(svc), ip, cred.Name)
	return cred, nil
}

func (a *Authenticator) fail(ctx context.Context, svc Service, ip, login, reason string) error {
	LogAuthFailure(a.Log, string(svc), ip, login, reason)
	if err := a.Store.RecordAuthFailure(ctx, ip, login); err != nil {
		a.Log.Error("record auth failure", "err", err)
	}
	return ErrAuthFailed
}
