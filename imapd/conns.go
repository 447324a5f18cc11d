package main

import (
	"sync"

	"github.com/emersion/go-imap/v2/imapserver"
)

// conns tracks open connections so that shutdown can say BYE to each
// (RFC 9051 §7.1.5) instead of dropping them: clients then reconnect
// at once rather than waiting for a timeout.
type conns struct {
	mu  sync.Mutex
	set map[*imapserver.Conn]struct{} // guarded by mu
}

func (c *conns) add(conn *imapserver.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set == nil {
		c.set = make(map[*imapserver.Conn]struct{})
	}
	c.set[conn] = struct{}{}
}

func (c *conns) remove(conn *imapserver.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.set, conn)
}

// byeAll sends an untagged BYE on every open connection and closes it.
func (c *conns) byeAll(text string) {
	c.mu.Lock()
	open := make([]*imapserver.Conn, 0, len(c.set))
	for conn := range c.set {
		open = append(open, conn)
	}
	c.mu.Unlock()
	for _, conn := range open {
		conn.Bye(text)
	}
}
