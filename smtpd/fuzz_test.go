package main

import (
	"bytes"
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
		if err := DecideRcpt(role, m, Recipient{Addr: a.Canon, LocalDomain: localDomain, Known: true}); err == nil && !localDomain {
			t.Fatalf("open relay: anonymous MAIL FROM:<%s> RCPT TO:<%s> accepted", canonFrom, a.Canon)
		}
	})
}

// FuzzCheckData: accepted data has only CRLF line ends and no NUL.
func FuzzCheckData(f *testing.F) {
	for _, s := range []string{"a\r\nb\r\n", "a\nb", "a\rb", "\r\n.\r\n", "x\n.\n", "\x00", "", "\r", "\n", "\r\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkData(b) != nil {
			return
		}
		if bytes.IndexByte(b, 0) >= 0 {
			t.Fatal("NUL accepted")
		}
		if bytes.Count(b, []byte("\r")) != bytes.Count(b, []byte("\r\n")) || bytes.Count(b, []byte("\n")) != bytes.Count(b, []byte("\r\n")) {
			t.Fatalf("bare CR or LF accepted: %q", b)
		}
	})
}

// FuzzSASLPlain: PLAIN never authenticates as anyone but the login, and
// never panics on garbage.
func FuzzSASLPlain(f *testing.F) {
	f.Add([]byte("\x00alice@example.com\x00pw"))
	f.Add([]byte("bob@example.com\x00alice@example.com\x00pw"))
	f.Add([]byte("\x00\x00"))
	f.Add([]byte("no nul"))
	f.Fuzz(func(t *testing.T, resp []byte) {
		var checked string
		p := &plainServer{check: func(login, _ string) error { checked = login; return nil }}
		_, done, err := p.Next(resp)
		if !done {
			t.Fatal("PLAIN with a response must finish")
		}
		if err == nil {
			parts := bytes.Split(resp, []byte{0})
			if len(parts) != 3 || (len(parts[0]) > 0 && string(parts[0]) != checked) || string(parts[1]) != checked {
				t.Fatalf("accepted %q as %q", resp, checked)
			}
		}
		if _, _, err := p.Next(resp); err == nil {
			t.Fatal("second response accepted")
		}
	})
}

// FuzzSubjectOf: whatever header a client sends, the subject a
// suspension notice quotes is one line of at most 200 printable
// characters.
func FuzzSubjectOf(f *testing.F) {
	for _, s := range []string{"Subject: hello\r\n\r\nbody", "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\n",
		"Subject: a\r\n b\r\n\r\n", "Subject: =?utf-8?b?AAEC?=\r\n", "Subject: \x00\x1b[31m\r\n", "From: x\r\n",
		"Subject: " + strings.Repeat("ü", 300) + "\r\n\r\n", "no header at all", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		s := subjectOf(head)
		if len([]rune(s)) > 200 || strings.ContainsAny(s, "\r\n\x00\x1b") {
			t.Fatalf("subjectOf(%q) = %q", head, s)
		}
	})
}
