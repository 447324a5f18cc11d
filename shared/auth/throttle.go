package auth

import (
	"time"

	"mailsuite/store"
)

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
