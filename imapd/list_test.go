package main

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2/imapserver"
)

// matchList agrees with go-imap's MatchList on ordinary patterns.
func TestMatchListAgreesWithGoIMAP(t *testing.T) {
	names := []string{"INBOX", "a", "a/b", "a/b/c", "ab", "x/a/b", "Trash", "a%b", "", "é/ü"}
	refs := []string{"", "a", "a/", "x"}
	patterns := []string{"*", "%", "a", "a/%", "a/*", "%/%", "*b", "%b", "a*c", "/a", "*/b", "a%", "%/b/%", "é/%", ""}
	for _, n := range names {
		for _, r := range refs {
			for _, p := range patterns {
				if got, want := matchList(n, r, p), imapserver.MatchList(n, delim, r, p); got != want {
					t.Errorf("matchList(%q, %q, %q) = %v, MatchList %v", n, r, p, got, want)
				}
			}
		}
	}
}

// A pattern of many wildcards against a long name is answered at once
// (go-imap's MatchList backtracks exponentially).
func TestListManyWildcards(t *testing.T) {
	e := newEnv(t, withPlaintext)
	tc := e.dial()
	tc.login()
	name := strings.Repeat("a", 200)
	if _, r := tc.cmd("CREATE %s", name); !strings.HasPrefix(r, "OK") {
		t.Fatalf("CREATE: %s", r)
	}
	pattern := strings.Repeat("*a", 40) + "b"
	if untagged, r := tc.cmd(`LIST "" "%s"`, pattern); len(untagged) != 0 || !strings.HasPrefix(r, "OK") {
		t.Errorf("LIST: %q %s", untagged, r)
	}
	if untagged, _ := tc.cmd(`LIST "" "%s"`, strings.Repeat("*a", 40)); len(untagged) != 1 {
		t.Errorf("LIST: %q", untagged)
	}
}

// FuzzMatchList: the linear matcher agrees with go-imap's backtracking
// one wherever the latter finishes quickly (few wildcards).
func FuzzMatchList(f *testing.F) {
	for _, s := range [][3]string{{"a/b", "", "*"}, {"a/b", "a", "%"}, {"INBOX", "", "IN%"}, {"x/y/z", "", "%/*z"}, {"a%b", "", "a%b"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, name, ref, pattern string) {
		if len(name) > 64 || len(ref) > 16 || strings.Count(pattern, "*")+strings.Count(pattern, "%") > 4 {
			return
		}
		if got, want := matchList(name, ref, pattern), imapserver.MatchList(name, delim, ref, pattern); got != want {
			t.Fatalf("matchList(%q, %q, %q) = %v, MatchList %v", name, ref, pattern, got, want)
		}
	})
}

// FuzzHeaderValues: the lenient header reader never fails and finds a
// field it is given.
func FuzzHeaderValues(f *testing.F) {
	f.Add([]byte("From: a@b\r\nTo: x\r\n\r\nbody"), "from")
	f.Add([]byte("bad line\r\nFrom: =?utf-8?q?=C3=A9?= <e@x>\r\n"), "FROM")
	f.Add([]byte("Subject: a\r\n b\r\n"), "subject")
	f.Fuzz(func(t *testing.T, msg []byte, key string) {
		headerValues(msg, key)
		for _, c := range []byte(key) { // RFC 5322 field names: printable ASCII but ':'
			if c < 33 || c > 126 || c == ':' {
				return
			}
		}
		if key == "" {
			return
		}
		m := append([]byte(key+": needle\r\n"), msg...)
		if !matchHeader(m, key, "needle") {
			t.Fatalf("field %q not found in %q", key, m)
		}
	})
}
