package main

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/term"
)

func TestReadPasswordStdin(t *testing.T) {
	for in, want := range map[string]string{
		"secret\n":           "secret",
		"secret\r\n":         "secret",
		"secret":             "secret",
		"with space\nnext\n": "with space",
	} {
		got, err := readPassword(strings.NewReader(in), true, "Password: ")
		if err != nil || got != want {
			t.Errorf("readPassword(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "\n", "\r\n", strings.Repeat("x", 5000)} {
		if _, err := readPassword(strings.NewReader(in), true, ""); err == nil {
			t.Errorf("readPassword(%.10q...) succeeded", in)
		}
	}
}

func TestReadPasswordNoTerminal(t *testing.T) {
	if term.IsTerminal(int(os.Stdin.Fd())) {
		t.Skip("standard input is a terminal")
	}
	_, err := readPassword(strings.NewReader("ignored\n"), false, "Password: ")
	if err == nil || err.Error() != "password: use --password-stdin or a terminal" {
		t.Errorf("err = %v", err)
	}
}
