package main

import (
	"bytes"
	"strings"
)

// This file reads the header section of an arriving message: where it
// ends, its fields, and the Authentication-Results fields that claim to
// come from this server, which RFC 8601 §5 says to remove before adding
// our own, so a forged verdict never reaches a user's mail reader.

// maxHeader bounds the header section smtpd reads to check a message:
// the size a message keeps in memory (see spool), as Exim's
// header_maxsize. A larger header section is refused (errHeaderTooLarge).
const maxHeader = spoolMem

// headerEnd returns the length of msg's header section, its empty line
// included, or -1 when the header section runs past maxHeader. A message
// without an empty line is all header.
func headerEnd(msg []byte) int {
	if bytes.HasPrefix(msg, []byte("\r\n")) {
		return 2
	}
	if i := bytes.Index(msg[:min(len(msg), maxHeader)], []byte("\r\n\r\n")); i >= 0 {
		return i + 4
	}
	if len(msg) > maxHeader {
		return -1
	}
	return len(msg)
}

// nextField returns the first field of a header section (its first line
// and the folded lines that continue it, CRLFs included) and the rest.
// A line without a colon counts as a field of its own.
func nextField(h []byte) (field, rest []byte) {
	end := 0
	for {
		i := bytes.Index(h[end:], []byte("\r\n"))
		if i < 0 {
			return h, nil
		}
		end += i + 2
		if end >= len(h) || (h[end] != ' ' && h[end] != '\t') {
			return h[:end], h[end:]
		}
	}
}

// fieldName returns a field's name, without the spaces that obsolete
// syntax allows before the colon (RFC 5322 §4.5), and its value; ok is
// false for a line that is no field.
func fieldName(field []byte) (name string, value []byte, ok bool) {
	i := bytes.IndexByte(field, ':')
	if i <= 0 {
		return "", nil, false
	}
	return strings.TrimRight(string(field[:i]), " \t"), field[i+1:], true
}

// hasField reports whether the header section h has a field called name.
func hasField(h []byte, name string) bool {
	for rest := h; len(rest) > 0; {
		var f []byte
		f, rest = nextField(rest)
		if n, _, ok := fieldName(f); ok && strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// removeOurAuthResults returns the header section h without the
// Authentication-Results fields whose authserv-id is host (compared
// without case or a final dot), and whether it removed any. The other
// fields stay byte for byte and in order.
func removeOurAuthResults(h []byte, host string) ([]byte, bool) {
	host = strings.TrimSuffix(host, ".")
	var out []byte
	removed := false
	for rest := h; len(rest) > 0; {
		var f []byte
		f, rest = nextField(rest)
		name, value, ok := fieldName(f)
		if ok && strings.EqualFold(name, "Authentication-Results") &&
			strings.EqualFold(strings.TrimSuffix(authservID(value), "."), host) {
			if !removed {
				out = append(make([]byte, 0, len(h)), h[:len(h)-len(f)-len(rest)]...)
				removed = true
			}
			continue
		}
		if removed {
			out = append(out, f...)
		}
	}
	if !removed {
		return h, false
	}
	return out, true
}

// authservID returns the authserv-id an Authentication-Results value
// starts with (RFC 8601 §2.2): comments, folding and quotes left out, as
// a mail reader would read it. It is liberal on purpose: whatever a
// reader could take for our name is ours to remove.
func authservID(value []byte) string {
	var b strings.Builder
	depth := 0
	quoted, escaped := false, false
	for _, c := range value {
		switch {
		case escaped:
			escaped = false
			if depth == 0 {
				b.WriteByte(c)
			}
		case c == '\\' && (quoted || depth > 0):
			escaped = true
		case depth > 0:
			if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
		case c == '"':
			quoted = !quoted
		case quoted:
			if c != '\r' && c != '\n' {
				b.WriteByte(c)
			}
		case c == '(':
			depth++
		case c == ';':
			return b.String()
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if b.Len() > 0 {
				return b.String()
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
