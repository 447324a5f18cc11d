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
	e := newEnv(t)
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
