package shared

import (
	"sync"
	"time"

	"mailsuite/store"
)

// ConnLimiter caps concurrent connections per listener or daemon, so a flood
// of connections exhausts a counter rather than memory and file descriptors.
type ConnLimiter struct {
	max int

	mu sync.Mutex
	n  int // guarded by mu
}

// NewConnLimiter returns a limiter for max concurrent connections; max <= 0
// means no limit.
func NewConnLimiter(max int) *ConnLimiter {
	return &ConnLimiter{max: max}
}

// Acquire takes a slot and reports whether one was free. It never blocks:
// the caller answers "too many connections" and closes when it is false.
func (l *ConnLimiter) Acquire() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.n >= l.max {
		return false
	}
	l.n++
	return true
}

// Release returns a slot taken by a successful Acquire.
func (l *ConnLimiter) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n > 0 {
		l.n--
	}
}

// InUse reports the number of slots taken.
func (l *ConnLimiter) InUse() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Auth-failure throttling policy. The store keeps the failure counts so all
// three daemons share them; these numbers are the one place the policy is
// set. Every login attempt is counted before its password is checked, and
// un-counted when it succeeds. A login is refused without checking the
// password while the client's address (an IPv6 client by its /64) has at
// least MaxFailuresPerIP failures, or the account has at least
// MaxFailuresPerAccount, within the last ThrottleWindow. The per-account
// limit is lower because guessing one account's password from many IPs is
// the attack it stops; it does not refuse the owner: an address that
// logged in to the account within KnownDeviceFor, or holds a live relay
// grant of it.
const (
	ThrottleWindow        = time.Minute
	MaxFailuresPerIP      = 10
	MaxFailuresPerAccount = 5
	KnownDeviceFor        = 30 * 24 * time.Hour
)

var throttleLimits = store.ThrottleLimits{
	Window:     ThrottleWindow,
	PerIP:      MaxFailuresPerIP,
	PerAccount: MaxFailuresPerAccount,
	KnownFor:   KnownDeviceFor,
}
