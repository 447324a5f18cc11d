package main

import (
	"net"
	"sync"
	"time"
)

// connSet remembers open client connections, so shutdown can close the
// connections go-smtp's Shutdown would wait on forever. Admission is the
// business of the daemon.LimitListener beneath it.
type connSet struct {
	mu    sync.Mutex
	conns map[*trackedConn]struct{} // guarded by mu
}

func newConnSet() *connSet {
	return &connSet{conns: map[*trackedConn]struct{}{}}
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

// trackListener puts every accepted connection into a connSet, with an
// idle clock.
type trackListener struct {
	net.Listener
	set  *connSet
	idle time.Duration
}

func (l *trackListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, set: l.set, idle: l.idle, progress: time.Now()}
	l.set.mu.Lock()
	l.set.conns[tc] = struct{}{}
	l.set.mu.Unlock()
	return tc, nil
}

// trackedConn leaves its connSet once, when closed. It also keeps the
// session's idle clock: RFC 5321 §4.5.3.2 gives a client five minutes per
// command, but NOOP, RSET, VRFY, HELP or EHLO every four minutes would
// hold a connection forever. So every read deadline go-smtp sets is cut
// to idle after the session's last mail progress (an accepted MAIL or
// RCPT, message data, a successful AUTH); when it passes, go-smtp's read
// times out and it answers "421 4.4.2 ... Idle timeout" and closes.
type trackedConn struct {
	net.Conn
	set  *connSet
	once sync.Once
	idle time.Duration // 0: no idle clock

	mu       sync.Mutex
	progress time.Time // guarded by mu
	inData   bool      // guarded by mu: the idle clock stands still
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.set.mu.Lock()
		delete(c.set.conns, c)
		c.set.mu.Unlock()
	})
	return c.Conn.Close()
}

// SetReadDeadline applies t, or the idle clock's end if that is sooner.
func (c *trackedConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(c.capped(t))
}

// SetDeadline is SetReadDeadline and SetWriteDeadline; the idle clock
// bounds only the read side.
func (c *trackedConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

func (c *trackedConn) capped(t time.Time) time.Time {
	if c.idle <= 0 {
		return t
	}
	c.mu.Lock()
	end := c.progress.Add(c.idle)
	inData := c.inData
	c.mu.Unlock()
	if inData || (!t.IsZero() && t.Before(end)) {
		return t
	}
	return end
}

// progressed restarts the idle clock. A nil c (no listener: a fuzz test
// session) does nothing.
func (c *trackedConn) progressed() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.progress = time.Now()
	c.mu.Unlock()
}

// data marks the data phase of a message, in which only the per-read
// deadline applies, so a long message on a slow link is not cut off; the
// idle clock restarts when it ends.
func (c *trackedConn) data(in bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.inData = in
	c.progress = time.Now()
	c.mu.Unlock()
}

// trackedOf finds the trackedConn under a session's connection (which is
// a TLS connection after STARTTLS or on port 465); nil if there is none.
func trackedOf(c net.Conn) *trackedConn {
	for {
		switch x := c.(type) {
		case *trackedConn:
			return x
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			return nil
		}
	}
}

// progressed restarts the session's idle clock: the client made mail
// progress.
func (s *session) progressed() { trackedOf(s.conn).progressed() }
