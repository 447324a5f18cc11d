package store

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Limits from RFC 5321 §4.5.3.1.
const (
	maxLocalPart = 64
	maxDomain    = 255
	maxAddress   = 254
)

// idnaProfile converts internationalised domain names to their A-label
// (punycode) form: the store keeps every domain lower case and ASCII, so
// "BÜCHER.example" and "xn--bcher-kva.example" are the same domain.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false))

// CanonDomain returns the canonical form of a domain name: lower case,
// IDNA A-labels, no trailing dot. It rejects what cannot be a host name.
func CanonDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	if d == "" {
		return "", fmt.Errorf("empty domain")
	}
	if !utf8.ValidString(d) {
		return "", fmt.Errorf("invalid domain %q: not UTF-8", d)
	}
	a, err := idnaProfile.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("invalid domain %q: %v", d, err)
	}
	a = strings.ToLower(a)
	if len(a) > maxDomain {
		return "", fmt.Errorf("domain %q is longer than %d octets", d, maxDomain)
	}
	if !strings.Contains(a, ".") {
		return "", fmt.Errorf("invalid domain %q: need at least two labels", d)
	}
	// The A-label form must be a fixed point, or two spellings of one
	// domain could be stored as two domains.
	if back, err := idnaProfile.ToASCII(a); err != nil || back != a {
		return "", fmt.Errorf("invalid domain %q", d)
	}
	for _, label := range strings.Split(a, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("invalid domain %q", d)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", fmt.Errorf("invalid domain %q: character %q", d, c)
			}
		}
	}
	return a, nil
}

// CanonAddress returns the canonical form of a mailbox address
// "local@domain": the local part lower case (mailsuite treats local parts
// case-insensitively, as operators expect), the domain as CanonDomain.
// Only dot-atom local parts are accepted: quoted strings, '%', '!' and
// source routes are how relays get tricked, and no user needs them.
func CanonAddress(a string) (string, error) {
	a = strings.TrimSpace(a)
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		return "", fmt.Errorf("invalid address %q: missing @", a)
	}
	local, domain := a[:at], a[at+1:]
	if err := checkLocalPart(local); err != nil {
		return "", fmt.Errorf("invalid address %q: %v", a, err)
	}
	d, err := CanonDomain(domain)
	if err != nil {
		return "", fmt.Errorf("invalid address %q: %v", a, err)
	}
	out := strings.ToLower(local) + "@" + d
	if len(out) > maxAddress {
		return "", fmt.Errorf("invalid address %q: longer than %d octets", a, maxAddress)
	}
	return out, nil
}

func checkLocalPart(l string) error {
	if l == "" {
		return fmt.Errorf("empty local part")
	}
	if len(l) > maxLocalPart {
		return fmt.Errorf("local part longer than %d octets", maxLocalPart)
	}
	if l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, "..") {
		return fmt.Errorf("misplaced dot in local part")
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte(".-_+=&'*/?^`{|}~#$", c) >= 0:
		default:
			return fmt.Errorf("character %q not allowed in local part", c)
		}
	}
	return nil
}

// SplitAddress splits a canonical address into local part and domain.
func SplitAddress(a string) (local, domain string) {
	at := strings.LastIndexByte(a, '@')
	if at < 0 {
		return a, ""
	}
	return a[:at], a[at+1:]
}
