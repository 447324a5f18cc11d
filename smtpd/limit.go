package main

import (
	"net"
	"sync"
	"time"

	"mailsuite/shared"
)

// connSet counts and remembers open client connections: past the limit a
// client gets "421 too busy" and is closed, so a flood exhausts a counter
// rather than memory and file descriptors; and shutdown can close the
// connections go-smtp's Shutdown would wait on forever.
type connSet struct {
	lim      *shared.ConnLimiter
	hostname string

	mu    sync.Mutex
	conns map[*trackedConn]struct{} // guarded by mu
}

func newConnSet(max int, hostname string) *connSet {
	return &connSet{lim: shared.NewConnLimiter(max), hostname: hostname, conns: map[*trackedConn]struct{}{}}
}

// closeAll closes every open connection.
func (s *connSet) closeAll() {
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// limitListener admits connections into a connSet.
type limitListener struct {
	net.Listener
	set *connSet
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.set.lim.Acquire() {
			tc := &trackedConn{Conn: c, set: l.set}
			l.set.mu.Lock()
			l.set.conns[tc] = struct{}{}
			l.set.mu.Unlock()
			return tc, nil
		}
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("421 4.7.0 " + l.set.hostname + " Too many connections, try again later\r\n"))
		c.Close()
	}
}

// trackedConn leaves its connSet once, when closed.
type trackedConn struct {
	net.Conn
	set  *connSet
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.set.lim.Release()
		c.set.mu.Lock()
		delete(c.set.conns, c)
		c.set.mu.Unlock()
	})
	return c.Conn.Close()
}
