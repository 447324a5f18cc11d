package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"mailsuite/store"
)

// ErrSMTPDisabled refuses an SMTP login whose password was right but whose
// credential may not send: better said at AUTH, where the mail client
// shows it, than at every recipient.
var ErrSMTPDisabled = errors.New("sending is disabled for this account")

// Login is the one login path of the three daemons, as one connection
// takes it. A daemon gives it the user name and password (POP3 USER/PASS,
// IMAP LOGIN) or the SASL exchange (see SASL) and maps the outcome to its
// reply; everything else is here: the check with its throttle and log
// lines (Authenticator.Check), the pause after a refusal, the refusal of
// an SMTP login without SMTP authority, and the relay grant of a POP3 or
// IMAP login.
type Login struct {
	Auth    *Authenticator
	Service Service
	IP      string // the TCP peer address without port (see daemon.PeerIP)
	// FailureDelay is the pause before a failed or throttled login is
	// answered: FailureDelay in the daemons, zero in tests.
	FailureDelay time.Duration
	// GrantWindow is how long the relay grant of a POP3 or IMAP login
	// lasts (relay.window).
	GrantWindow time.Duration
}

// Success is what a login that succeeded gives the session.
type Success struct {
	Cred store.Credential
	// Stamp is the store's credential stamp taken before the check: the
	// session's start for RecheckChanged, so that a change between the
	// check and the session's first command is not missed. POP3 and IMAP
	// only.
	Stamp store.CredentialStamp
}

// Password logs in with a user name and password. The errors are
// ErrAuthFailed and ErrThrottled (after FailureDelay), ErrSMTPDisabled,
// or a store error, logged here with the user, which the daemon answers
// as a temporary failure. A POP3 or IMAP login of a user with SMTP
// authority has recorded its relay grant before it returns, so a client
// that sends right after its login is already allowed to relay; other
// users get none, since a grant is the right to send.
func (l Login) Password(ctx context.Context, user, password string) (Success, error) {
	a := l.Auth
	var stamp store.CredentialStamp
	if l.Service != ServiceSMTP {
		// SMTP sessions keep no stamp; reading it would start, on
		// PostgreSQL, a listening connection smtpd does not need.
		stamp = a.Store.CredentialStamp()
	}
	start := time.Now()
	cred, err := a.Check(ctx, l.Service, l.IP, user, password)
	switch {
	case errors.Is(err, ErrAuthFailed), errors.Is(err, ErrThrottled):
		l.pause()
		return Success{}, err
	case err != nil:
		a.Log.Error("login", "proto", string(l.Service), "ip", l.IP, "user", user, "err", err)
		return Success{}, err
	}
	if l.Service == ServiceSMTP {
		if !cred.SMTP {
			LogRefused(a.Log, string(l.Service), l.IP, cred.Name, "smtp disabled")
			return Success{}, ErrSMTPDisabled
		}
	} else if cred.SMTP && a.grants(l.IP) {
		ctx, cancel := renewed(ctx, start)
		defer cancel()
		if err := a.Store.Grant(ctx, l.IP, cred.UserID, l.GrantWindow); err != nil {
			a.Log.Error("record grant", "proto", string(l.Service), "ip", l.IP, "user", cred.Name, "err", err)
			return Success{}, fmt.Errorf("auth: grant: %w", err)
		}
	}
	return Success{Cred: cred, Stamp: stamp}, nil
}

// grants reports whether a POP3 or IMAP login from ip records a relay
// grant: not from an address listed in relay.no_grant_from.
func (a *Authenticator) grants(ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return true
	}
	addr = addr.Unmap()
	for _, p := range a.NoGrant {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// renewed returns a context with the time ctx had at start. ctx's
// deadline is meant for store calls; the password hash that ran under it
// on a loaded machine must not leave the grant after it without time.
func renewed(ctx context.Context, start time.Time) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), dl.Sub(start))
}

// refuse logs a login refused before any password check and pauses as
// after a failure: the client asked for something that is never granted.
func (l Login) refuse(user, reason string) {
	LogRefused(l.Auth.Log, string(l.Service), l.IP, user, reason)
	l.pause()
}

// pause slows down guessing on one connection; the daemon answers after
// it, so the client cannot tell a failure sooner.
func (l Login) pause() {
	if l.FailureDelay > 0 {
		time.Sleep(l.FailureDelay)
	}
}
