package mailimport

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// uidList is a parsed dovecot-uidlist.
type uidList struct {
	validity, next uint32
	entries        map[string]uidEntry // by file base name (before ":")
	problems       []error             // damaged lines, skipped
}

type uidEntry struct {
	uid  uint32
	uidl string
}

// readUIDList reads a dovecot-uidlist in version 3 ("3 V<validity>
// N<next> G<guid>", then "<uid> [<key><value>...] :<file>") or version 1
// ("1 <validity> <next>", then "<uid> <file>").
func readUIDList(path string) (*uidList, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() {
		return nil, fmt.Errorf("%s: empty", path)
	}
	l := &uidList{entries: make(map[string]uidEntry)}
	version, err := l.parseHeader(sc.Text())
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	for n := 2; sc.Scan(); n++ {
		if sc.Text() == "" {
			continue
		}
		base, e, err := parseUIDLine(sc.Text(), version)
		if err != nil {
			l.problems = append(l.problems, fmt.Errorf("%s:%d: %w", path, n, err))
			continue
		}
		l.entries[base] = e
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

func (l *uidList) parseHeader(line string) (int, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return 0, fmt.Errorf("empty")
	}
	switch f[0] {
	case "1":
		if len(f) < 3 {
			return 0, fmt.Errorf("version 1 needs UIDVALIDITY and next UID")
		}
		v, err1 := parseUID(f[1])
		n, err2 := parseUID(f[2])
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("bad numbers %q", line)
		}
		l.validity, l.next = v, n
		return 1, nil
	case "3":
		for _, kv := range f[1:] {
			var err error
			switch kv[0] {
			case 'V':
				l.validity, err = parseUID(kv[1:])
			case 'N':
				l.next, err = parseUID(kv[1:])
			}
			if err != nil {
				return 0, fmt.Errorf("bad field %q", kv)
			}
		}
		if l.validity == 0 {
			return 0, fmt.Errorf("no UIDVALIDITY (V field)")
		}
		return 3, nil
	}
	return 0, fmt.Errorf("unknown version %q", f[0])
}

// parseUIDLine parses one message line.
func parseUIDLine(line string, version int) (string, uidEntry, error) {
	var e uidEntry
	uidText, rest, ok := strings.Cut(line, " ")
	uid, err := parseUID(uidText)
	if !ok || err != nil {
		return "", e, fmt.Errorf("no UID at the start of %q", line)
	}
	e.uid = uid
	if version == 1 {
		if rest == "" {
			return "", e, fmt.Errorf("no file name in %q", line)
		}
		base, _, _ := strings.Cut(rest, ":")
		return base, e, nil
	}
	fields, base, ok := strings.Cut(rest, ":")
	if !ok || base == "" {
		return "", e, fmt.Errorf("no :file name in %q", line)
	}
	for _, kv := range strings.Fields(fields) {
		if kv[0] == 'P' && validUIDL(kv[1:]) {
			e.uidl = kv[1:]
		}
	}
	base, _, _ = strings.Cut(base, ":")
	return base, e, nil
}

// parseUID parses a non-zero 32-bit number.
func parseUID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return uint32(n), nil
}

// validUIDL accepts what RFC 1939 7 allows as a unique-id: 1 to 70
// characters from 0x21 to 0x7E.
func validUIDL(s string) bool {
	if s == "" || len(s) > 70 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
