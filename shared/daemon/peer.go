package daemon

import (
	"net"
	"net/netip"
)

// PeerIP returns the IP address of a connection's remote end as text,
// without port or IPv4-in-IPv6 mapping. Grants, throttling and auth logs are
// keyed by it, and it comes from the TCP connection, never from anything
// the client says.
func PeerIP(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(tcp.IP); ok {
			return ip.Unmap().String()
		}
	}
	if addr == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}
