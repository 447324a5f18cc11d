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
