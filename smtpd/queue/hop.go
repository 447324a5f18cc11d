package queue

import (
	"context"
	"net"
	"slices"
	"strings"

	"mailsuite/shared/resolve"
)

// hopKind says how a recipient's next hop is found.
type hopKind int

const (
	hopRoute   hopKind = iota // a configured host:port (route or smarthost)
	hopLiteral                // user@[192.0.2.1]: that address, port 25
	hopMX                     // MX records of the domain
	hopInvalid                // not an address we can deliver to
)

// hop is where a group of recipients goes. Recipients with equal hops
// share a connection.
type hop struct {
	kind hopKind
	addr string // host:port (route), IP (literal), domain (MX), reason (invalid)
}

func (h hop) key() string { return string(rune('0'+h.kind)) + h.addr }

// hopFor picks the next hop of a recipient: routes first, then the
// smarthost, then the domain's own MX (or the address literal).
func (r *Runner) hopFor(rcpt string) hop {
	at := strings.LastIndexByte(rcpt, '@')
	if at < 0 || at == len(rcpt)-1 {
		return hop{hopInvalid, "no domain in recipient address"}
	}
	domain := strings.ToLower(strings.TrimSuffix(rcpt[at+1:], "."))
	q := r.cfg.SMTPD.Queue
	if route, ok := q.Routes[domain]; ok && route != "" {
		return hop{hopRoute, withPort(route)}
	}
	if q.Smarthost != "" {
		return hop{hopRoute, withPort(q.Smarthost)}
	}
	if strings.HasPrefix(domain, "[") {
		lit, closed := strings.CutSuffix(domain[1:], "]")
		v6, isV6 := strings.CutPrefix(lit, "ipv6:")
		ip := net.ParseIP(v6)
		if !closed || ip == nil || isV6 != (ip.To4() == nil) {
			return hop{hopInvalid, "malformed address literal " + domain}
		}
		return hop{hopLiteral, ip.String()}
	}
	return hop{hopMX, domain}
}

// withPort adds SMTP's port 25 to a host given without one.
func withPort(hostport string) string {
	if _, _, err := net.SplitHostPort(hostport); err == nil {
		return hostport
	}
	return net.JoinHostPort(strings.Trim(hostport, "[]"), "25")
}

// hosts lists the host names (or IPs) to try for a hop, in order, and the
// port. implicit is set when the domain has no MX and its own address
// records stand in (RFC 5321 §5.1). A result other than nil means the hop
// fails without any connection: null MX (permanent) or DNS trouble
// (temporary).
func (r *Runner) hosts(ctx context.Context, h hop) (names []string, port string, implicit bool, fail *result) {
	switch h.kind {
	case hopInvalid:
		res := perm("5.1.3", "bad recipient address: %s", h.addr)
		return nil, "", false, &res
	case hopRoute:
		host, port, _ := net.SplitHostPort(h.addr)
		return []string{host}, port, false, nil
	case hopLiteral:
		return []string{h.addr}, "25", false, nil
	}
	mxs, err := r.resolver.LookupMX(ctx, h.addr)
	if err != nil && len(mxs) == 0 {
		if resolve.IsNotFound(err) {
			return []string{h.addr}, "25", true, nil
		}
		res := temp("4.4.3", "MX lookup for %s failed: %v", h.addr, err)
		return nil, "", false, &res
	}
	if len(mxs) == 0 {
		return []string{h.addr}, "25", true, nil
	}
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		res := perm("5.1.10", "domain %s accepts no mail (null MX, RFC 7505)", h.addr)
		return nil, "", false, &res
	}
	mxs = slices.Clone(mxs)
	slices.SortStableFunc(mxs, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	for _, mx := range mxs {
		if n := strings.TrimSuffix(mx.Host, "."); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names, "25", false, nil
}

// addrs resolves a host name to its addresses; an IP is its own.
func (r *Runner) addrs(ctx context.Context, name string) ([]string, error) {
	if ip := net.ParseIP(name); ip != nil {
		return []string{ip.String()}, nil
	}
	return r.resolver.LookupHost(ctx, name)
}
