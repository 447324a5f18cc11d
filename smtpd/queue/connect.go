package queue

import (
	"context"
	"errors"
	"net"

	"mailsuite/shared/resolve"
)

// connect opens a session to the first host of the hop that answers,
// trying MX hosts in preference order and each host's addresses in turn.
// When none does it returns the failure to record for every recipient.
func (r *Runner) connect(ctx context.Context, h hop) (*session, result) {
	names, port, implicit, fail := r.hosts(ctx, h)
	if fail != nil {
		return nil, *fail
	}
	var last error
	tried := 0
	for _, name := range names {
		addrs, err := r.addrs(ctx, name)
		if err != nil || len(addrs) == 0 {
			if implicit && (len(addrs) == 0 && err == nil || resolve.IsNotFound(err)) {
				return nil, perm("5.1.2", "domain %s has no MX and no address records", name)
			}
			last = err
			if last == nil {
				last = errors.New("no address records for " + name)
			}
			continue
		}
		for _, a := range addrs {
			if tried == maxAddressAttempts || ctx.Err() != nil {
				break
			}
			tried++
			s, err := r.openFallback(ctx, name, net.JoinHostPort(a, port))
			if err == nil {
				return s, result{}
			}
			r.log.Debug("connection failed", "host", name, "addr", a, "err", err)
			last = err
		}
	}
	if last == nil {
		last = errors.New("no host to connect to")
	}
	return nil, temp("4.4.1", "%v", last)
}

// openFallback opens a session and, when STARTTLS failed and plain
// fallback is configured, opens another one without TLS.
func (r *Runner) openFallback(ctx context.Context, name, addr string) (*session, error) {
	s, err := r.open(ctx, name, addr, false)
	if err != nil && r.fallback && errors.Is(err, errTLS) {
		r.log.Warn("STARTTLS failed, retrying in plain text", "host", name, "addr", addr, "err", err)
		return r.open(ctx, name, addr, true)
	}
	return s, err
}
