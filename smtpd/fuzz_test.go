package main

import (
	"bytes"
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
