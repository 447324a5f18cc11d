package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// maxPasswordLen bounds what readPassword accepts, so a mistaken pipe of a
// large file fails instead of becoming a password.
const maxPasswordLen = 4096

// readPassword obtains a password for mailctl without ever taking it from
// argv (visible in ps and shell history). With stdin set it reads one line
// from r, as for --password-stdin. Otherwise, if standard input is a
// terminal, it prompts twice on stderr without echo and requires the two to
// match.
func readPassword(r io.Reader, stdin bool, prompt string) (string, error) {
	if stdin {
		return readPasswordLine(r)
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", errors.New("password: use --password-stdin or a terminal")
	}
	first, err := promptPassword(fd, prompt)
	if err != nil {
		return "", err
	}
	second, err := promptPassword(fd, "Again: ")
	if err != nil {
		return "", err
	}
	if first != second {
		return "", errors.New("password: the two entries do not match")
	}
	return first, nil
}

// readPasswordLine reads the first line of r, without its line ending.
func readPasswordLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, maxPasswordLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("password: read standard input: %w", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if len(pw) > maxPasswordLen {
		return "", fmt.Errorf("password: longer than %d bytes", maxPasswordLen)
	}
	if pw == "" {
		return "", errors.New("password: empty password on standard input")
	}
	return pw, nil
}

// promptPassword reads one password from the terminal without echo.
func promptPassword(fd int, prompt string) (string, error) {
	fmt.Fprint(os.Stderr, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", fmt.Errorf("password: read terminal: %w", err)
	}
	if len(b) == 0 {
		return "", errors.New("password: empty password")
	}
	return string(b), nil
}
