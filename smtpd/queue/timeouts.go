package queue

import (
	"net"
	"time"
)

// Timeouts bound each step of an outbound SMTP conversation, so a remote
// server that hangs costs a connection for minutes, not forever.
type Timeouts struct {
	Connect   time.Duration // TCP connect, per address
	Greeting  time.Duration // the 220 banner
	Command   time.Duration // EHLO, STARTTLS, MAIL, RCPT, RSET, QUIT and the TLS handshake
	DataInit  time.Duration // the 354 reply to DATA
	DataBlock time.Duration // each write of the message
	DataEnd   time.Duration // the reply after the final "."
}

// DefaultTimeouts are RFC 5321 §4.5.3.2's minimums (and a 30-second
// connect timeout, as Postfix uses).
func DefaultTimeouts() Timeouts {
	return Timeouts{
		Connect:   30 * time.Second,
		Greeting:  5 * time.Minute,
		Command:   5 * time.Minute,
		DataInit:  2 * time.Minute,
		DataBlock: 3 * time.Minute,
		DataEnd:   10 * time.Minute,
	}
}

// Scaled returns t with every timeout multiplied by f (tests use a small f).
func (t Timeouts) Scaled(f float64) Timeouts {
	s := func(d time.Duration) time.Duration { return time.Duration(float64(d) * f) }
	return Timeouts{s(t.Connect), s(t.Greeting), s(t.Command), s(t.DataInit), s(t.DataBlock), s(t.DataEnd)}
}

// blockConn gives every write its own deadline. go-smtp's client sets
// deadlines around commands and replies, but none while it writes the
// message body; this bounds each data block as RFC 5321 asks.
type blockConn struct {
	net.Conn
	block time.Duration
}

func (c *blockConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.block))
	return c.Conn.Write(p)
}
