package main

import (
	"bufio"
	"bytes"
)

// crlfSize is the size of body as pop3d sends it: every line ending in
// CRLF (a bare LF becomes CRLF, a last line without a line end gets one),
// before dot-stuffing. STAT, LIST and RETR all use it, so the sizes a
// client sees always match the octets it receives.
func crlfSize(body []byte) int64 {
	if isCRLFClean(body) {
		return int64(len(body))
	}
	var n int64
	eachLine(body, func(line []byte) bool {
		n += int64(len(line)) + 2
		return true
	})
	return n
}

// isCRLFClean reports whether every LF in body follows a CR and body is
// empty or ends with CRLF: the common case, sent as stored.
func isCRLFClean(body []byte) bool {
	if len(body) == 0 {
		return true
	}
	if !bytes.HasSuffix(body, []byte("\r\n")) {
		return false
	}
	for i := 0; ; {
		j := bytes.IndexByte(body[i:], '\n')
		if j < 0 {
			return true
		}
		i += j
		if i == 0 || body[i-1] != '\r' {
			return false
		}
		i++
	}
}

// eachLine calls fn with every line of body without its line end (LF or
// CRLF), including a last line without one, until fn returns false.
func eachLine(body []byte, fn func(line []byte) bool) {
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\n')
		var line []byte
		if i < 0 {
			line, body = body, nil
		} else {
			line, body = body[:i], body[i+1:]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if !fn(line) {
			return
		}
	}
}

// writeMessage writes body as a POP3 multi-line response body: CRLF line
// ends, lines starting with "." dot-stuffed, then the terminating ".".
// bodyLines < 0 sends the whole message; otherwise the header, the blank
// line and at most bodyLines lines of the body (TOP).
func writeMessage(w *bufio.Writer, body []byte, bodyLines int) error {
	if bodyLines < 0 && isCRLFClean(body) {
		writeStuffed(w, body)
		_, err := w.WriteString(".\r\n")
		return err
	}
	inBody := false
	sent := 0
	eachLine(body, func(line []byte) bool {
		if inBody && bodyLines >= 0 {
			if sent >= bodyLines {
				return false
			}
			sent++
		}
		if len(line) > 0 && line[0] == '.' {
			w.WriteByte('.')
		}
		w.Write(line)
		w.WriteString("\r\n")
		if len(line) == 0 {
			inBody = true
		}
		return true
	})
	_, err := w.WriteString(".\r\n")
	return err
}

// writeStuffed writes a CRLF-clean body with dot-stuffing, in as few
// writes as there are lines starting with ".", the fast path of RETR.
func writeStuffed(w *bufio.Writer, body []byte) {
	if len(body) > 0 && body[0] == '.' {
		w.WriteByte('.')
	}
	for {
		i := bytes.Index(body, []byte("\n."))
		if i < 0 {
			w.Write(body)
			return
		}
		w.Write(body[:i+1])
		w.WriteByte('.')
		body = body[i+1:]
	}
}
