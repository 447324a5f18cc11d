package config

import (
	"fmt"
	"net/netip"
)

// NoGrant returns relay.no_grant_from as prefixes; a plain address is a
// prefix of its full length. Load has checked every entry.
func (r RelayConfig) NoGrant() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(r.NoGrantFrom))
	for _, a := range r.NoGrantFrom {
		if p, err := parsePrefix(a); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parsePrefix parses "192.0.2.1", "2001:db8::1" or "192.0.2.0/24".
func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q: want an IP address or a CIDR prefix", s)
	}
	a = a.Unmap() // peers are compared unmapped too
	return netip.PrefixFrom(a, a.BitLen()), nil
}
