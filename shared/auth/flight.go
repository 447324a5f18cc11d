package auth

import (
	"sync"

	"mailsuite/store"
)

// flights lets identical logins in progress share one check. A mail
// client opens several connections at once (Thunderbird and Outlook 5 to
// 10), all with the same login and password from the same address: the
// first is checked, the others wait for its outcome. They cost neither
// an argon2id hash nor a place under the account's limit, so they cannot
// be refused for attempts that have not failed. Only a success is shared:
// after a failure each waiter takes its own, throttled, turn, so a burst
// of one wrong password gains nothing over one at a time.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight // guarded by mu; keyed by flightKey
}

// flight is one check in progress; cred and err are set before done is
// closed.
type flight struct {
	done chan struct{}
	cred store.Credential
	err  error
}

// join returns the flight of key, and whether the caller leads it: then
// it must check and call land.
func (f *flights) join(key string) (*flight, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.m[key]; ok {
		return fl, false
	}
	if f.m == nil {
		f.m = make(map[string]*flight)
	}
	fl := &flight{done: make(chan struct{})}
	f.m[key] = fl
	return fl, true
}

// land ends the flight of key with the leader's outcome.
func (f *flights) land(key string, fl *flight, cred store.Credential, err error) {
	f.mu.Lock()
	delete(f.m, key)
	f.mu.Unlock()
	fl.cred, fl.err = cred, err
	close(fl.done)
}

// flightKey says which logins are the same: service (a domain credential
// is for SMTP only), client address as the throttle counts it, login and
// password. The password enters only as an HMAC under the process's
// cache key, as in the login cache.
func (a *Authenticator) flightKey(svc Service, ip, login, password string) string {
	a.cache.init()
	return string(a.cache.mac(string(svc)+"\x00"+store.ClientKey(ip)+"\x00"+login, password))
}

// signal wakes everyone waiting for the next attempt to settle.
type signal struct {
	mu sync.Mutex
	ch chan struct{} // closed at the next broadcast; nil when nobody waits
}

// wait returns a channel closed at the next broadcast.
func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) broadcast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}
