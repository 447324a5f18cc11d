package main

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// maxLine is the longest command line accepted, CRLF included. RFC 2449
// allows 255 octets; AUTH responses (a long password in base64) need more.
const maxLine = 2048

// maxArgs bounds the number of arguments; no POP3 command takes more than 2.
const maxArgs = 2

// command is one parsed client line.
type command struct {
	name string   // upper case keyword, e.g. "RETR"
	args []string // space-separated arguments
	rest string   // everything after "NAME ", verbatim (PASS takes spaces)
}

var (
	errEmpty    = errors.New("empty command")
	errNUL      = errors.New("NUL byte in command")
	errKeyword  = errors.New("invalid command keyword")
	errTooMany  = errors.New("too many arguments")
	errBadSpace = errors.New("empty argument (double space)")
)

// parseCommand splits a line (without its line end) into keyword and
// arguments. Keywords are 3 or 4 letters (RFC 1939, 2449); arguments are
// separated by single spaces, but more than two are refused.
func parseCommand(line []byte) (command, error) {
	if len(line) == 0 {
		return command{}, errEmpty
	}
	if bytes.IndexByte(line, 0) >= 0 {
		return command{}, errNUL
	}
	s := string(line)
	name, rest, hasRest := strings.Cut(s, " ")
	if !isKeyword(name) {
		return command{}, errKeyword
	}
	c := command{name: strings.ToUpper(name), rest: rest}
	if !hasRest {
		return c, nil
	}
	c.args = strings.Split(rest, " ")
	if len(c.args) > maxArgs && c.name != "PASS" {
		return command{}, errTooMany
	}
	for _, a := range c.args {
		if a == "" && c.name != "PASS" {
			return command{}, errBadSpace
		}
	}
	return c, nil
}

// isKeyword reports whether s is 3 or 4 ASCII letters.
func isKeyword(s string) bool {
	if len(s) < 3 || len(s) > 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// parseNumber parses a decimal argument: digits only, no sign, at most 9
// digits so it always fits in an int.
func parseNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// isHTTPVerb catches a browser or proxy talking to the POP3 port, the
// start of a cross-protocol attack; the session is closed at once.
func isHTTPVerb(name string) bool {
	switch name {
	case "GET", "POST", "HEAD", "PUT", "CONNECT", "OPTIONS", "DELETE", "PATCH", "TRACE":
		return true
	}
	return false
}
