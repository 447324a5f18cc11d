package main

import (
	"bytes"
	"strings"
	"testing"
)

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
