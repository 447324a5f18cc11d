// Package resolve is the suite's one DNS resolver. The queue's MX and
// address lookups, the SPF, DKIM, DMARC and MTA-STS lookups and mailctl's
// dns check all go through it, so the operator (with dns.resolver) and the
// tests (with a DNS server on loopback) point every lookup at one server.
//
// Every lookup has a deadline; a lookup that runs out of time is a
// temporary failure (IsTemporary), never "no such record": mail waits for
// DNS to answer, it is not bounced because DNS was slow.
package resolve

import (
	"context"
	"errors"
	"net"
	"time"
)

// Timeout bounds one lookup when the caller's context allows longer.
const Timeout = 10 * time.Second

// Resolver answers the lookups mail needs. The zero value is not usable;
// call New.
type Resolver struct {
	r       *net.Resolver
	server  string // dns.resolver; empty for the system's
	timeout time.Duration
}

// New returns a resolver that asks server ("host:port") for every lookup,
// or the system's resolvers (/etc/resolv.conf) when server is empty.
func New(server string) *Resolver {
	if server == "" {
		return &Resolver{r: net.DefaultResolver, timeout: Timeout}
	}
	var d net.Dialer
	return &Resolver{
		r: &net.Resolver{
			PreferGo: true,
			// The Go resolver picks udp, then tcp for a truncated answer;
			// both go to the configured server, never to resolv.conf's.
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, server)
			},
		},
		server:  server,
		timeout: Timeout,
	}
}

// WithTimeout returns a copy of r whose lookups end after d.
func (r *Resolver) WithTimeout(d time.Duration) *Resolver {
	c := *r
	c.timeout = d
	return &c
}

func (r *Resolver) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.timeout)
}

// LookupMX returns the MX records of domain, sorted by preference.
func (r *Resolver) LookupMX(ctx context.Context, domain string) ([]*net.MX, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	mxs, err := r.r.LookupMX(ctx, domain)
	return mxs, r.named(err)
}

// LookupHost returns the addresses (A and AAAA) of host.
func (r *Resolver) LookupHost(ctx context.Context, host string) ([]string, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	addrs, err := r.r.LookupHost(ctx, host)
	return addrs, r.named(err)
}

// LookupIPAddr returns the addresses (A and AAAA) of host as IPs.
func (r *Resolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	ips, err := r.r.LookupIPAddr(ctx, host)
	return ips, r.named(err)
}

// LookupTXT returns the TXT records of name, each record's strings joined
// into one as RFC 7208 §3.3 and RFC 6376 §3.6.2.2 require.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	txts, err := r.r.LookupTXT(ctx, name)
	return txts, r.named(err)
}

// LookupAddr returns the PTR names of addr.
func (r *Resolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	names, err := r.r.LookupAddr(ctx, addr)
	return names, r.named(err)
}

// named makes an error name the server that was asked: the Go resolver
// names the first one in /etc/resolv.conf even when dns.resolver sent the
// query elsewhere, which would send an operator to the wrong server.
func (r *Resolver) named(err error) error {
	var de *net.DNSError
	if r.server != "" && errors.As(err, &de) {
		de.Server = r.server
	}
	return err
}

// IsNotFound reports whether err says the name or the record does not
// exist (NXDOMAIN or an empty answer): a permanent answer.
func IsNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// IsTemporary reports whether err is worth retrying later: a timeout, a
// server failure, a refused or unreachable server. Anything that is not a
// clear "not found" from DNS counts as temporary, so a broken resolver
// delays mail instead of bouncing it.
func IsTemporary(err error) bool {
	if err == nil || IsNotFound(err) {
		return false
	}
	return true
}
