package store

import "testing"

func TestCRLF(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"a\r\nb\r\n":       "a\r\nb\r\n",
		"a\nb\n":           "a\r\nb\r\n",
		"\n":               "\r\n",
		"a\r\nb\nc":        "a\r\nb\r\nc",
		"lone\rCR\n":       "lone\rCR\r\n",
		"\r\n\n\r\r\n\n\n": "\r\n\r\n\r\r\n\r\n\r\n",
	} {
		if got := string(CRLF([]byte(in))); got != want {
			t.Errorf("CRLF(%q) = %q, want %q", in, got, want)
		}
	}
}
