package policy

import (
	"strings"
	"testing"

	"mailsuite/store"
)

var addressSeeds = []string{
	"alice@example.com", "Alice@EXAMPLE.com.", "user%far.test@example.com", "far.test!user@example.com",
	`"user@far.test"@example.com`, "user@far.test@example.com", "@a.test:user@b.test", "user@[192.0.2.1]",
	"a..b@example.com", ".a@example.com", "user@bücher.example", "user@xn--bcher-kva.example", "user@-bad.example",
	"user(comment)@example.com", "user @example.com", "user\x00@example.com", strings.Repeat("a", 65) + "@example.com",
	"", "@", "user@", "@example.com", "postmaster@example.com", "user@localhost",
}

// FuzzParseAddress: an accepted address is canonical (parsing it again
// gives it back) and carries nothing a relay could be tricked with.
func FuzzParseAddress(f *testing.F) {
	for _, s := range addressSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		if strings.Count(a.Canon, "@") != 1 || strings.ContainsAny(a.Canon, "%!\"\\:[]()<>, \t\r\n\x00") {
			t.Fatalf("ParseAddress(%q) = %q: smuggling character or extra @", s, a.Canon)
		}
		_, d := store.SplitAddress(a.Canon)
		if d != a.Domain || !strings.EqualFold(a.Route, a.Canon) {
			t.Fatalf("ParseAddress(%q) = %+v: inconsistent", s, a)
		}
		b, err := ParseAddress(a.Canon)
		if err != nil || b.Canon != a.Canon {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, a.Canon, b.Canon, err)
		}
	})
}

// FuzzPolicy: whatever the addresses and the role, a client with no
// credential and no grant never gets a remote recipient accepted, and
// submission never accepts anything from it.
func FuzzPolicy(f *testing.F) {
	for _, s := range addressSeeds {
		f.Add(s, "x@far.test", false, true, false)
		f.Add("x@far.test", s, true, false, true)
	}
	f.Fuzz(func(t *testing.T, from, rcpt string, submission, strict, localDomain bool) {
		role := RoleMX
		if submission {
			role = RoleSubmission
		}
		var canonFrom string
		if from != "" {
			a, err := ParseAddress(from)
			if err != nil {
				return
			}
			canonFrom = a.Canon
		}
		a, err := ParseAddress(rcpt)
		if err != nil {
			return
		}
		m, serr := DecideMail(role, strict, Identity{IP: "192.0.2.1"}, canonFrom)
		if serr != nil {
			if serr.Code/100 != 5 {
				t.Fatalf("MAIL refusal %d is not permanent", serr.Code)
			}
			return
		}
		if m.Relay || role == RoleSubmission {
			t.Fatalf("anonymous client got %+v on %v", m, role)
		}
		if _, err := DecideRcpt(role, m, Recipient{Addr: a.Canon, LocalDomain: localDomain, Known: true}); err == nil && !localDomain {
			t.Fatalf("open relay: anonymous MAIL FROM:<%s> RCPT TO:<%s> accepted", canonFrom, a.Canon)
		}
	})
}
