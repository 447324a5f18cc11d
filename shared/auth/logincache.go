package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// LoginCacheTTL is how long a successful login is remembered. Clients poll
// every few minutes (Outlook Express's default is 30 min, phones every
// 15); each poll within the TTL skips the argon2id check.
const LoginCacheTTL = 15 * time.Minute

// loginCacheMax bounds the cache; when full it is emptied, which only
// costs the next logins a full check.
const loginCacheMax = 10000

// loginCache remembers recent successful logins, as Dovecot's auth cache
// does, so that a client polling again does not pay for a 19 MiB, 20 ms
// argon2id check each time. An entry holds an HMAC of the password under
// a key that lives only in this process, never the password, and is tied
// to the stored hash: a password change or a removed user misses.
// Only successes are cached: a wrong password always takes the full,
// throttled path, so guessing gains nothing.
type loginCache struct {
	once    sync.Once
	key     []byte
	mu      sync.Mutex
	entries map[string]loginEntry // guarded by mu; keyed by login name
}

type loginEntry struct {
	hash    string // the stored hash the password was checked against
	mac     []byte
	expires time.Time
}

func (c *loginCache) init() {
	c.once.Do(func() {
		c.key = make([]byte, 32)
		rand.Read(c.key) // crypto/rand.Read does not fail on supported platforms
		c.entries = make(map[string]loginEntry)
	})
}

func (c *loginCache) mac(name, password string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write([]byte(password))
	return m.Sum(nil)
}

// ok reports whether name logged in with password against hash recently.
func (c *loginCache) ok(name, hash, password string, now time.Time) bool {
	c.init()
	c.mu.Lock()
	e, found := c.entries[name]
	c.mu.Unlock()
	if !found || e.hash != hash || now.After(e.expires) {
		return false
	}
	return hmac.Equal(e.mac, c.mac(name, password))
}

// put remembers a successful login.
func (c *loginCache) put(name, hash, password string, now time.Time) {
	c.init()
	mac := c.mac(name, password)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= loginCacheMax {
		clear(c.entries)
	}
	c.entries[name] = loginEntry{hash: hash, mac: mac, expires: now.Add(LoginCacheTTL)}
}
