package metrics

import (
	"net"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Sessions counts the open connections of ln in mailsuite_sessions_open
// under listener (the listener's configuration key, e.g.
// "smtpd.submission"): one more at each accept, one less when the
// connection is closed, however often Close is called. With m nil it
// returns ln itself.
func (m *Metrics) Sessions(ln net.Listener, listener string) net.Listener {
	if m == nil {
		return ln
	}
	g := m.sessions.WithLabelValues(listener)
	return &countListener{Listener: ln, open: g}
}

type countListener struct {
	net.Listener
	open prometheus.Gauge
}

func (l *countListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.open.Inc()
	return &countConn{Conn: c, open: l.open}, nil
}

// countConn leaves the gauge once, at its first Close.
type countConn struct {
	net.Conn
	open prometheus.Gauge
	once sync.Once
}

func (c *countConn) Close() error {
	c.once.Do(c.open.Dec)
	return c.Conn.Close()
}
