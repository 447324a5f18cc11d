package daemon

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"mailsuite/shared/config"
	"mailsuite/store"
)

// ConnLimiter counts a budget's open connections, in all and per client
// address, so a flood of connections exhausts a counter rather than memory
// and file descriptors, and one client cannot take the slots of all others.
// An IPv6 client is counted by its /64, the smallest network a site gets:
// one host may hold the whole /64, so counting each address alone would be
// no limit at all.
type ConnLimiter struct {
	lim config.ConnLimits

	mu   sync.Mutex
	n    int                  // guarded by mu
	byIP map[netip.Prefix]int // guarded by mu; no zero counts
}

// NewConnLimiter returns a limiter for one budget.
func NewConnLimiter(lim config.ConnLimits) *ConnLimiter {
	return &ConnLimiter{lim: lim, byIP: map[netip.Prefix]int{}}
}

// ClientKey is what a client is counted by: its IPv4 address, or the /64
// of its IPv6 address, as the login throttle counts it (store.ClientPrefix).
// A connection that is not TCP (a pipe in a test) has the zero prefix, one
// key for all such connections.
func ClientKey(addr net.Addr) netip.Prefix {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return netip.Prefix{}
	}
	ip, ok := netip.AddrFromSlice(tcp.IP)
	if !ok {
		return netip.Prefix{}
	}
	return store.ClientPrefix(ip)
}

// Acquire takes a slot for a client and reports whether one was free. The
// check and the count are one step, so concurrent accepts cannot overshoot.
// It never blocks: the caller refuses the connection when it is false.
func (l *ConnLimiter) Acquire(key netip.Prefix) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lim.Max > 0 && l.n >= l.lim.Max {
		return false
	}
	if l.lim.PerIP > 0 && l.byIP[key] >= l.lim.PerIP {
		return false
	}
	l.n++
	l.byIP[key]++
	return true
}

// Release returns a slot taken by a successful Acquire for the same key.
func (l *ConnLimiter) Release(key netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byIP[key] == 0 {
		return
	}
	l.n--
	if l.byIP[key]--; l.byIP[key] == 0 {
		delete(l.byIP, key)
	}
}

// InUse reports the number of slots taken.
func (l *ConnLimiter) InUse() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// refusalWriteTimeout bounds writing a refusal to a client that does not
// read; it goes into an empty socket buffer, so it does not wait in practice.
const refusalWriteTimeout = time.Second

// LimitListener admits connections within lim's budget. A connection over
// budget gets refusal (a whole protocol line with CRLF, e.g. "421 4.7.0 ...")
// and is closed before the daemon sees it; an empty refusal closes without
// a word, which is what an implicit-TLS port does, since a plain-text line
// is garbage to a client that starts with a TLS handshake, and handshaking
// only to refuse would hand a flood the CPU it is trying to take. An
// admitted connection gives its slot back when closed, once.
func LimitListener(ln net.Listener, lim *ConnLimiter, refusal string) net.Listener {
	return &limitListener{Listener: ln, lim: lim, refusal: []byte(refusal)}
}

type limitListener struct {
	net.Listener
	lim     *ConnLimiter
	refusal []byte
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := ClientKey(c.RemoteAddr())
		if l.lim.Acquire(key) {
			return &limitedConn{Conn: c, lim: l.lim, key: key}, nil
		}
		if len(l.refusal) > 0 {
			c.SetWriteDeadline(time.Now().Add(refusalWriteTimeout))
			c.Write(l.refusal)
		}
		c.Close()
	}
}

// limitedConn holds one slot of a ConnLimiter until closed.
type limitedConn struct {
	net.Conn
	lim  *ConnLimiter
	key  netip.Prefix
	once sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.lim.Release(c.key) })
	return c.Conn.Close()
}
