package main

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line string
		name string
		args []string
		err  error
	}{
		{"STAT", "STAT", nil, nil},
		{"list 1", "LIST", []string{"1"}, nil},
		{"TOP 1 10", "TOP", []string{"1", "10"}, nil},
		{"PASS a b c d", "PASS", []string{"a", "b", "c", "d"}, nil},
		{"", "", nil, errEmpty},
		{"ST", "", nil, errKeyword},
		{"STATS", "", nil, errKeyword},
		{"ST1T", "", nil, errKeyword},
		{"TOP 1 2 3", "", nil, errTooMany},
		{"LIST  1", "", nil, errBadSpace},
		{"LIST 1 ", "", nil, errBadSpace},
		{"US\x00R", "", nil, errNUL},
	}
	for _, tt := range tests {
		c, err := parseCommand([]byte(tt.line))
		if err != tt.err || c.name != tt.name || strings.Join(c.args, ",") != strings.Join(tt.args, ",") {
			t.Errorf("parseCommand(%q) = %+v, %v; want %s %q %v", tt.line, c, err, tt.name, tt.args, tt.err)
		}
	}
}

func TestParseNumber(t *testing.T) {
	for s, want := range map[string]int{"0": 0, "1": 1, "007": 7, "999999999": 999999999} {
		if n, ok := parseNumber(s); !ok || n != want {
			t.Errorf("parseNumber(%q) = %d, %v", s, n, ok)
		}
	}
	for _, s := range []string{"", "-1", "+1", "1e3", "0x1", "1000000000", " 1", "١"} {
		if _, ok := parseNumber(s); ok {
			t.Errorf("parseNumber(%q) accepted", s)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"STAT", "LIST 1", "TOP 1 10", "PASS a b", "USER a@b.c", "AUTH PLAIN =",
		"", " ", "GET / HTTP/1.1", "\x00", "RETR -1", "RETR 99999999999", "UIDL  1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		c, err := parseCommand(line)
		if err != nil {
			return
		}
		if !isKeyword(c.name) || strings.ToUpper(c.name) != c.name {
			t.Fatalf("bad keyword %q from %q", c.name, line)
		}
		if c.name != "PASS" && len(c.args) > maxArgs {
			t.Fatalf("%d args from %q", len(c.args), line)
		}
		for _, a := range c.args {
			if n, ok := parseNumber(a); ok && n < 0 {
				t.Fatalf("negative number from %q", a)
			}
		}
	})
}

// FuzzMessage checks that the bytes RETR sends, unstuffed, are exactly
// crlfSize octets with CRLF line ends, for any stored body.
func FuzzMessage(f *testing.F) {
	for _, s := range []string{"", "a", "a\r\n", "a\n", ".\r\n", "..\n.", "x\r\r\n", "\n\n.\r\n", "H: v\r\n\r\n.b\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		if err := writeMessage(w, body, -1); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		out := buf.Bytes()
		if !bytes.HasSuffix(out, []byte(".\r\n")) {
			t.Fatalf("no terminator: %q", out)
		}
		out = out[:len(out)-3]
		var n int64
		for len(out) > 0 {
			i := bytes.Index(out, []byte("\r\n"))
			if i < 0 {
				t.Fatalf("line without CRLF in %q", out)
			}
			line := out[:i]
			if bytes.IndexByte(line, '\n') >= 0 {
				t.Fatalf("bare LF in line %q", line)
			}
			if len(line) > 0 && line[0] == '.' {
				line = line[1:]
			} else if bytes.Equal(line, []byte(".")) {
				t.Fatal("unstuffed terminator inside message")
			}
			n += int64(len(line)) + 2
			out = out[i+2:]
		}
		if n != crlfSize(body) {
			t.Fatalf("sent %d octets, crlfSize says %d for %q", n, crlfSize(body), body)
		}
	})
}
