package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidAddress is Route's answer for an address that cannot be a
// mailbox (see CanonAddress).
var ErrInvalidAddress = errors.New("invalid address")

// Route tells where mail to addr goes. It is the one place that decides
// it: smtpd asks it at RCPT TO and the queue when it addresses a bounce,
// so a message and its bounce reach the same mailboxes.
//
// An address in a local domain goes to its users and alias targets
// (Resolution.Local is set; none of them means the address is unknown).
// postmaster@ and abuse@ fall back to a first user (see firstUserTx). The
// bare "postmaster" of RFC 5321 §4.5.1, in any case, is postmaster@
// hostname, and so is postmaster@hostname itself: both are local even
// when hostname is no local domain, or has one label ("localhost"), which
// no local domain can have. Any other address is remote, routed as
// written: the domain canonical, the local part in the case the sender
// chose, since remote systems may treat case as significant.
//
// Domains compare in their canonical form (lower case, IDNA A-labels),
// local parts of local addresses without regard to case.
func (s *Store) Route(ctx context.Context, addr, hostname string) (Resolution, error) {
	addr = strings.TrimSpace(addr)
	if pm, ok := hostPostmaster(addr, hostname); ok {
		r, err := s.resolve(ctx, pm)
		r.Addr, r.Local = pm, true
		return r, err
	}
	canon, err := CanonAddress(addr)
	if err != nil {
		return Resolution{}, fmt.Errorf("store: route: %w: %v", ErrInvalidAddress, err)
	}
	local, domain := SplitAddress(canon)
	isLocal, err := s.IsLocalDomain(ctx, domain)
	if err != nil {
		return Resolution{}, fmt.Errorf("store: route %s: %w", canon, err)
	}
	if !isLocal {
		written, _ := SplitAddress(addr)
		if !strings.EqualFold(written, local) {
			written = local // cannot happen after CanonAddress; stay safe
		}
		return Resolution{Addr: canon, Remote: []string{written + "@" + domain}}, nil
	}
	r, err := s.resolve(ctx, canon)
	r.Addr, r.Local = canon, true
	return r, err
}

// hostPostmaster reports whether addr is the postmaster of this host: the
// bare "postmaster" or postmaster@hostname, in any case. It returns the
// address as Route resolves it. The host part is built, not parsed with
// CanonDomain, because a hostname may have a single label.
func hostPostmaster(addr, hostname string) (string, bool) {
	host := canonHost(hostname)
	pm := "postmaster@" + host
	if strings.EqualFold(addr, "postmaster") {
		return pm, host != ""
	}
	local, domain := SplitAddress(addr)
	if !strings.EqualFold(local, "postmaster") || host == "" || canonHost(domain) != host {
		return "", false
	}
	return pm, true
}

// canonHost is CanonDomain for a host name, one label allowed; "" when it
// cannot be a host name.
func canonHost(h string) string {
	h = strings.TrimSuffix(strings.TrimSpace(h), ".")
	if d, err := CanonDomain(h); err == nil {
		return d
	}
	// CanonDomain wants two labels: try again as a label of a dummy
	// domain, so a single label gets the same checks.
	d, err := CanonDomain(h + ".invalid")
	if err != nil || strings.Contains(strings.TrimSuffix(d, ".invalid"), ".") {
		return ""
	}
	return strings.TrimSuffix(d, ".invalid")
}
