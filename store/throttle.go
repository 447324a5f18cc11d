package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// failureKeep is how long failure rows are kept; throttle windows are
// shorter than this.
const failureKeep = time.Hour

// ThrottleLimits is the login throttling policy (set in shared/auth/throttle.go).
type ThrottleLimits struct {
	Window     time.Duration // failures older than this no longer count
	PerIP      int           // failures per client address in Window
	PerAccount int           // failures per account in Window
	// KnownFor is how long a successful login from an address exempts it
	// from the account's limit.
	KnownFor time.Duration
}

// Refusals of ReserveAttempt. None checked a password.
var (
	ErrThrottledIP      = errors.New("too many failed logins from this address")
	ErrThrottledAccount = errors.New("too many failed logins for this account")
	// ErrAttemptsPending: the limit is reached only by attempts whose
	// check has not ended yet; the caller may try again shortly.
	ErrAttemptsPending = errors.New("too many logins in progress")
)

// Attempt is a login attempt that ReserveAttempt counted. Until
// AttemptSucceeded says otherwise it counts as a failure, so an attempt
// that ends in a wrong password (or a crash) needs no second write.
type Attempt struct {
	ip, account string   // throttle keys, see ClientKey and accountKey
	peer        string   // the client's address as it is, for logins
	rows        [2]int64 // its auth_failures rows
	knownFor    time.Duration
}

// invalidLogin is the account key of every login that is no valid name:
// none of them can log in, so they share one bucket rather than each
// spelling getting its own.
const invalidLogin = "?"

// CanonLogin returns the canonical form of a login name: an address (see
// CanonAddress) or, without "@", a domain (see CanonDomain). Credential and
// the throttle both key on it, so no spelling of a name escapes the count.
func CanonLogin(login string) (string, error) {
	if strings.Contains(login, "@") {
		return CanonAddress(login)
	}
	return CanonDomain(login)
}

func accountKey(login string) string {
	if c, err := CanonLogin(login); err == nil {
		return c
	}
	return invalidLogin
}

// ClientPrefix is what a client address is counted by, in the throttle
// and in the daemons' connection limits: the IPv4 address, or the IPv6 /64,
// because one IPv6 client can use every address of its /64.
func ClientPrefix(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// ClientKey is the throttle key of a client address: the canonical IPv4
// address, or the IPv6 /64 prefix (see ClientPrefix).
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	p := ClientPrefix(a)
	if p.Addr().Is4() {
		return p.Addr().String()
	}
	return p.String()
}

// ReserveAttempt counts a login attempt of login from ip before its
// password is checked. In one write transaction it counts the recent
// failures of the client address and of the account and, under the
// limits, records the attempt as a failure: so however many attempts run
// at once, in however many processes, at most the limit of them get a
// password check. The account's limit does not refuse an address that is
// the owner's: one that logged in to the account within KnownFor, or that
// holds a live relay grant of it.
func (s *Store) ReserveAttempt(ctx context.Context, ip, login string, lim ThrottleLimits) (Attempt, error) {
	a := Attempt{ip: ClientKey(ip), account: accountKey(login), peer: ip, knownFor: lim.KnownFor}
	if c, err := CanonIP(ip); err == nil {
		a.peer = c
	}
	now := s.unix()
	since := now - int64(lim.Window/time.Second)
	err := s.writeLazy(ctx, func(tx *sql.Tx) error {
		ipN, ipPending, err := countTx(tx, "ip:"+a.ip, since)
		if err != nil {
			return err
		}
		acctN, acctPending, err := countTx(tx, "acct:"+a.account, since)
		if err != nil {
			return err
		}
		if ipN >= lim.PerIP {
			return refusal(ipN-ipPending < lim.PerIP, ErrThrottledIP)
		}
		if acctN >= lim.PerAccount {
			owner, err := isOwnerTx(tx, a, ip, now)
			if err != nil {
				return err
			}
			if !owner {
				return refusal(acctN-acctPending < lim.PerAccount, ErrThrottledAccount)
			}
		}
		for i, key := range []string{"ip:" + a.ip, "acct:" + a.account} {
			err := tx.QueryRow(`INSERT INTO auth_failures (key, at, pending) VALUES (?, ?, 1) RETURNING rowid`,
				key, now).Scan(&a.rows[i])
			if err != nil {
				return fmt.Errorf("store: record login attempt: %w", err)
			}
		}
		if _, err := tx.Exec(`DELETE FROM auth_failures WHERE at < ?`, now-int64(failureKeep/time.Second)); err != nil {
			return fmt.Errorf("store: prune auth failures: %w", err)
		}
		return nil
	})
	return a, err
}

// countTx counts the attempts of key since the given time, and how many
// of them are still pending.
func countTx(tx *sql.Tx, key string, since int64) (n, pending int, err error) {
	err = tx.QueryRow(`SELECT count(*), coalesce(sum(pending), 0) FROM auth_failures WHERE key = ? AND at >= ?`,
		key, since).Scan(&n, &pending)
	if err != nil {
		return 0, 0, fmt.Errorf("store: count auth failures: %w", err)
	}
	return n, pending, nil
}

// refusal is ErrAttemptsPending when attempts in progress make up the
// difference (they may yet succeed and leave the count), else throttled.
func refusal(pendingOnly bool, throttled error) error {
	if pendingOnly {
		return ErrAttemptsPending
	}
	return throttled
}

// AttemptFailed marks an attempt whose password was wrong as a settled
// failure. Until then it counts as one too, but as one that may still
// turn out right (see ErrAttemptsPending).
func (s *Store) AttemptFailed(ctx context.Context, a Attempt) error {
	return s.writeLazy(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE auth_failures SET pending = 0 WHERE rowid IN (?, ?)`, a.rows[0], a.rows[1])
		if err != nil {
			return fmt.Errorf("store: record failed login: %w", err)
		}
		return nil
	})
}

// isOwnerTx reports whether the attempt's address is a known device of
// its account or holds a live grant of it (grants are per address, not
// per /64).
func isOwnerTx(tx *sql.Tx, a Attempt, ip string, now int64) (bool, error) {
	if c, err := CanonIP(ip); err == nil {
		ip = c
	}
	var owner bool
	err := tx.QueryRow(`SELECT
		EXISTS (SELECT 1 FROM known_devices WHERE account = ? AND ip = ? AND last >= ?)
		OR EXISTS (SELECT 1 FROM grants g JOIN users u ON u.id = g.user_id
			WHERE u.address = ? AND g.ip = ? AND g.expires > ?)`,
		a.account, a.ip, now-int64(a.knownFor/time.Second), a.account, ip, now).Scan(&owner)
	if err != nil {
		return false, fmt.Errorf("store: known device: %w", err)
	}
	return owner, nil
}

// AttemptSucceeded un-counts an attempt whose password was right,
// remembers its address as a known device of the account, and records
// the login by protocol (proto: "pop3", "imap", "smtp") and address for
// Logins. The device's time is moved at most once an hour and the login's
// once a minute, so a client polling often does not rewrite them each
// time.
func (s *Store) AttemptSucceeded(ctx context.Context, a Attempt, proto string) error {
	now := s.unix()
	keep := now - int64(a.knownFor/time.Second)
	return s.writeLazy(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM auth_failures WHERE rowid IN (?, ?)`, a.rows[0], a.rows[1]); err != nil {
			return fmt.Errorf("store: clear login attempt: %w", err)
		}
		if _, err := tx.Exec(`INSERT INTO known_devices (account, ip, last) VALUES (?, ?, ?)
			ON CONFLICT (account, ip) DO UPDATE SET last = excluded.last WHERE excluded.last - known_devices.last >= 3600`,
			a.account, a.ip, now); err != nil {
			return fmt.Errorf("store: record known device: %w", err)
		}
		if _, err := tx.Exec(`DELETE FROM known_devices WHERE last < ?`, keep); err != nil {
			return fmt.Errorf("store: prune known devices: %w", err)
		}
		return recordLoginTx(tx, a, proto, now, keep)
	})
}

// AuthFailures counts the failures of ip and of login since the given
// time, keyed as ReserveAttempt keys them. A success elsewhere does not
// reset either count: they age out.
func (s *Store) AuthFailures(ctx context.Context, ip, login string, since time.Time) (ipCount, accountCount int, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM auth_failures WHERE key = ? AND at >= ?),
		(SELECT count(*) FROM auth_failures WHERE key = ? AND at >= ?)`,
		"ip:"+ClientKey(ip), since.Unix(), "acct:"+accountKey(login), since.Unix()).Scan(&ipCount, &accountCount)
	if err != nil {
		return 0, 0, fmt.Errorf("store: count auth failures: %w", err)
	}
	return ipCount, accountCount, nil
}

// writeLazy is write without the wait for the disk (synchronous=NORMAL
// for this one transaction). The throttle writes twice per login, and two
// fsyncs per login would cost a polling client milliseconds and hold the
// write lock that deliveries wait for. Its rows are not worth that: the
// next durable commit (any delivery) carries them to disk, and a power cut
// before it loses at most the last seconds of failure counts. The
// transaction is still atomic, and seen by every process at once.
//
// Flag and keyword changes and \Recent claims take this path too, for the
// same reason: WAL recovery keeps a prefix of the commits, so a power cut
// can only undo the newest of them, never one before a durable commit;
// this is the durability Dovecot gives flags (mail_fsync=optimized fsyncs
// saved mail, not index updates). New mail never does: see Accept.
func (s *Store) writeLazy(ctx context.Context, fn func(tx *sql.Tx) error) error {
	w, err := s.takeWriter(ctx)
	if err != nil {
		return err
	}
	defer w.release()
	if w.pg {
		// PostgreSQL's counterpart: this transaction's commit does not
		// wait for its WAL flush; the next durable one carries it.
		return w.run(ctx, func(tx *sql.Tx) error {
			if _, err := tx.Exec(`SET LOCAL synchronous_commit = off`); err != nil {
				return err
			}
			return fn(tx)
		})
	}
	if _, err := w.conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
		return err
	}
	defer func() {
		// The connection is the store's only writer: it must never go
		// back to the pool without its durability.
		if _, err := w.conn.ExecContext(context.Background(), `PRAGMA synchronous = FULL`); err != nil {
			w.conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return w.run(ctx, fn)
}
