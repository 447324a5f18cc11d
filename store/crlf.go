package store

import "bytes"

// CRLF returns b with every bare LF line end turned into CRLF: the store
// keeps messages with CRLF, as POP3 and IMAP serve them, so whatever
// arrives with LF alone (an IMAP APPEND, a maildir or mbox file) is
// converted once on the way in. b is returned as it is when it needs no
// change.
func CRLF(b []byte) []byte {
	if bytes.Count(b, []byte("\n")) == bytes.Count(b, []byte("\r\n")) {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/32)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}
