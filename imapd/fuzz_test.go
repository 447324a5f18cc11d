package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"

	"mailsuite/store"
)

// FuzzCheckName: a name is either refused or canonical, valid UTF-8, free
// of control characters and empty components, and stable.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"INBOX", "inbox", "a/b/c", "a//b", "/a", "a/", "a\x00b", "&AOk-", "\xff", "a/./b", "*", "Ünïcode/子"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := checkName(name)
		if err != nil {
			return
		}
		if !utf8.ValidString(got) || got == "" || strings.Contains(got, "//") || strings.HasSuffix(got, "/") || strings.HasPrefix(got, "/") {
			t.Fatalf("checkName(%q) = %q", name, got)
		}
		if again, err := checkName(got); err != nil || again != got {
			t.Fatalf("not stable: %q -> %q -> %q %v", name, got, again, err)
		}
	})
}

// FuzzSearchMatch runs the text criteria over arbitrary messages: no panic,
// no hang, and a pattern found verbatim in a plain-text body matches.
func FuzzSearchMatch(f *testing.F) {
	f.Add([]byte("Subject: hi\r\n\r\nhello world\r\n"), "world")
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nneedle\r\n--x--\r\n"), "needle")
	f.Add([]byte("Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n"), "")
	f.Add([]byte("\x00\r\n\r\n"), "\x00")
	f.Fuzz(func(t *testing.T, body []byte, pattern string) {
		msg := &store.Message{UID: 1, Size: int64(len(body)), InternalDate: time.Unix(0, 0)}
		c := &candidate{seq: 1, msg: msg, load: func() []byte { return body }}
		c.match(&imap.SearchCriteria{Text: []string{pattern}})
		c.match(&imap.SearchCriteria{Body: []string{pattern}, Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: pattern}}})
		c.match(&imap.SearchCriteria{SentSince: time.Unix(0, 0), Not: []imap.SearchCriteria{{Body: []string{pattern}}}})
		plain := append([]byte("Subject: x\r\n\r\n"), body...)
		if pattern != "" && bytes.Contains(bytes.ToLower(body), bytes.ToLower([]byte(pattern))) && utf8.ValidString(pattern) &&
			!bytes.ContainsAny(body, "\r\n") && strings.ToLower(pattern) == string(bytes.ToLower([]byte(pattern))) {
			c := &candidate{seq: 1, msg: msg, load: func() []byte { return plain }}
			if !c.match(&imap.SearchCriteria{Body: []string{pattern}}) {
				t.Fatalf("BODY %q not found in %q", pattern, plain)
			}
		}
	})
}
