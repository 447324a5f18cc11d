package main

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"mailsuite/store"
)

// Address is an envelope address as smtpd uses it.
type Address struct {
	// Canon is the canonical form (lower case, IDNA domain): the policy
	// and the store compare this.
	Canon string
	// Domain is the canonical domain.
	Domain string
	// Route is the form used for delivery elsewhere: the local part as
	// the client wrote it (remote systems may treat case as significant)
	// and the canonical domain.
	Route string
}

// ParseAddress parses a path as go-smtp passes it: source routes
// ("@a:user@b") already removed, as RFC 5321 §C lets a server ignore them,
// and quoted local parts unquoted. Only dot-atom local parts are accepted,
// so the smuggling forms "user%host@local", "host!user@local" and
// "\"user@remote\"@local" never reach the local-delivery rules: they are
// refused outright.
func ParseAddress(s string) (Address, error) {
	if !utf8.ValidString(s) {
		return Address{}, errors.New("address is not valid UTF-8")
	}
	canon, err := store.CanonAddress(s)
	if err != nil {
		return Address{}, err
	}
	// A canonical form that does not parse to itself (an IDNA oddity)
	// would make the policy and the store disagree: refuse it.
	if again, err := store.CanonAddress(canon); err != nil || again != canon {
		return Address{}, fmt.Errorf("invalid address %q", s)
	}
	local, domain := store.SplitAddress(canon)
	origLocal, _ := store.SplitAddress(s)
	if len(origLocal) != len(local) {
		origLocal = local // cannot happen for a dot-atom; stay safe
	}
	return Address{Canon: canon, Domain: domain, Route: origLocal + "@" + domain}, nil
}

// printable makes client-supplied text safe to echo in a reply or log: no
// control characters (a CR or LF would end the reply line), at most n bytes.
func printable(s string, n int) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < n; i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f {
			c = '?'
		}
		b = append(b, c)
	}
	return string(b)
}
