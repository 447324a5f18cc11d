package main

import (
	"bytes"
	"mime"
	"strings"
)

// headerValues returns the values of the header fields named key (any
// case), unfolded, with RFC 2047 encoded words decoded where the charset
// is known. It reads the header leniently, line by line, so one malformed
// field (or an address group, or a bad encoding) cannot hide the others
// from SEARCH FROM/TO/CC/HEADER as a strict parser would.
func headerValues(msg []byte, key string) []string {
	var out []string
	cur, in := "", false
	flush := func() {
		if in {
			out = append(out, decodeWords(strings.TrimSpace(cur)))
		}
		cur, in = "", false
	}
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break // end of the header
		}
		if line[0] == ' ' || line[0] == '\t' {
			if in {
				cur += " " + strings.TrimSpace(string(line))
			}
			continue
		}
		flush()
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && strings.EqualFold(strings.TrimSpace(string(name)), key) {
			cur, in = string(value), true
		}
	}
	flush()
	return out
}

var wordDecoder = mime.WordDecoder{}

// decodeWords decodes RFC 2047 encoded words, keeping the text as it is
// when it cannot.
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// matchHeader reports whether a field named key contains pattern, case
// insensitively; an empty pattern matches any message with the field.
func matchHeader(msg []byte, key, pattern string) bool {
	values := headerValues(msg, key)
	if pattern == "" {
		return len(values) > 0
	}
	pattern = strings.ToLower(pattern)
	for _, v := range values {
		if strings.Contains(strings.ToLower(v), pattern) {
			return true
		}
	}
	return false
}
