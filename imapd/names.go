package main

import (
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

// delim is the hierarchy separator of mailbox names.
const delim = '/'

// maxNameLen bounds a mailbox name in bytes; clients that map names to
// directories (mbsync, offlineimap) need far less.
const maxNameLen = 512

// checkName validates a mailbox name as decoded by go-imap (UTF-7 already
// turned into UTF-8) and returns it in canonical form: INBOX in upper case,
// no trailing separator. A name is refused when it is empty, not UTF-8,
// holds control characters or LIST wildcards, or has an empty, "." or ".."
// component, so every stored name is one a client can list and select.
func checkName(name string) (string, error) {
	name = strings.TrimRight(name, string(delim))
	if strings.EqualFold(name, "INBOX") {
		return "INBOX", nil
	}
	if name == "" || len(name) > maxNameLen || !utf8.ValidString(name) {
		return "", errBadName
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '*' || r == '%' || r == utf8.RuneError {
			return "", errBadName
		}
	}
	for _, part := range strings.Split(name, string(delim)) {
		if part == "" || part == "." || part == ".." {
			return "", errBadName
		}
	}
	return name, nil
}

var errBadName = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
	Text: "Invalid mailbox name"}

// parents returns the superior names of a hierarchical name, outermost
// first: "a/b/c" gives "a", "a/b".
func parents(name string) []string {
	var out []string
	for i, r := range name {
		if r == delim {
			out = append(out, name[:i])
		}
	}
	return out
}
