// Package mailimport reads what another mail server leaves on disk —
// a Dovecot Maildir++ tree, an mbox file, a Dovecot passwd-file — into
// the form the store imports. It only reads; mailctl import writes.
package mailimport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"mailsuite/store"
)

// Folder is one mailbox of a Maildir++ tree.
type Folder struct {
	Name        string // "INBOX" or "/"-separated, UTF-8
	Dir         string
	UIDValidity uint32 // 0 when the tree has no dovecot-uidlist
	UIDNext     uint32
	Subscribed  bool
	Messages    []Message // UIDs from the uidlist first, then files unknown to it (UID 0)
}

// Message is one file of a folder.
type Message struct {
	Path  string
	UID   uint32 // 0: not in dovecot-uidlist; the importer gives the next one
	Flags []string
	Date  time.Time
	UIDL  string // the uidlist's P field (a POP3 UIDL kept by Dovecot), or ""
}

// maxFile bounds the size of one message read into memory.
const maxFile = 256 << 20

// ReadMaildir reads the Maildir++ tree at root: the INBOX is root itself,
// every ".Name" directory with a cur/ is a folder. Files that cannot be
// parsed (a damaged dovecot-uidlist line, say) are reported in problems
// and left out; err is set only when root itself cannot be read.
func ReadMaildir(root string) (folders []Folder, problems []error, err error) {
	if _, err := os.Stat(filepath.Join(root, "cur")); err != nil {
		return nil, nil, fmt.Errorf("%s is not a maildir (no cur/): %w", root, err)
	}
	subs := readSubscriptions(filepath.Join(root, "subscriptions"))
	dirs := map[string]string{"INBOX": root}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", root, err)
	}
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() || len(n) < 2 || n[0] != '.' || n == ".." {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, n, "cur")); err != nil {
			continue
		}
		name, err := folderName(n[1:])
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", filepath.Join(root, n), err))
			continue
		}
		dirs[name] = filepath.Join(root, n)
	}
	names := make([]string, 0, len(dirs))
	for n := range dirs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f, p := readFolder(n, dirs[n])
		f.Subscribed = subs == nil || subs[n] || n == "INBOX"
		folders = append(folders, f)
		problems = append(problems, p...)
	}
	return folders, problems, nil
}

// folderName turns a Maildir++ directory name without its leading dot
// ("Work.2024", modified UTF-7) into a mailbox name ("Work/2024").
func folderName(dir string) (string, error) {
	parts := strings.Split(dir, ".")
	for i, p := range parts {
		if p == "" {
			return "", errors.New("empty hierarchy level in folder name")
		}
		d, err := decodeMUTF7(p)
		if err != nil {
			return "", err
		}
		parts[i] = d
	}
	return strings.Join(parts, "/"), nil
}

// readFolder lists one folder's messages with the UIDs and flags Dovecot
// gave them.
func readFolder(name, dir string) (Folder, []error) {
	f := Folder{Name: name, Dir: dir}
	var problems []error
	list, err := readUIDList(filepath.Join(dir, "dovecot-uidlist"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		problems = append(problems, err)
	}
	if list != nil {
		f.UIDValidity, f.UIDNext = list.validity, list.next
		problems = append(problems, list.problems...)
	}
	kw := readKeywords(filepath.Join(dir, "dovecot-keywords"))
	var unknown []Message
	for _, sub := range []string{"cur", "new"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			if sub == "cur" || !errors.Is(err, os.ErrNotExist) {
				problems = append(problems, fmt.Errorf("read %s: %w", filepath.Join(dir, sub), err))
			}
			continue
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			m := Message{Path: filepath.Join(dir, sub, e.Name())}
			base, info, _ := strings.Cut(e.Name(), ":")
			if sub == "cur" {
				m.Flags = maildirFlags(info, kw)
			}
			if fi, err := e.Info(); err == nil {
				m.Date = fi.ModTime()
			}
			if list != nil {
				if ent, ok := list.entries[base]; ok {
					m.UID, m.UIDL = ent.uid, ent.uidl
					f.Messages = append(f.Messages, m)
					continue
				}
			}
			unknown = append(unknown, m)
		}
	}
	sort.Slice(f.Messages, func(i, j int) bool { return f.Messages[i].UID < f.Messages[j].UID })
	sort.Slice(unknown, func(i, j int) bool { return unknown[i].Path < unknown[j].Path })
	f.Messages = append(f.Messages, unknown...)
	return f, problems
}

// maildirFlags maps the info part of a file name ("2,FRSab") to IMAP
// flags; lower-case letters index dovecot-keywords.
func maildirFlags(info string, kw map[byte]string) []string {
	letters, ok := strings.CutPrefix(info, "2,")
	if !ok {
		return nil
	}
	var flags []string
	for i := 0; i < len(letters); i++ {
		c := letters[i]
		switch {
		case c == 'S':
			flags = append(flags, `\Seen`)
		case c == 'R':
			flags = append(flags, `\Answered`)
		case c == 'F':
			flags = append(flags, `\Flagged`)
		case c == 'T':
			flags = append(flags, `\Deleted`)
		case c == 'D':
			flags = append(flags, `\Draft`)
		case c >= 'a' && c <= 'z' && kw[c] != "":
			flags = append(flags, kw[c])
		}
	}
	return flags
}

// readKeywords reads dovecot-keywords: "INDEX NAME" per line, index 0
// being the letter a.
func readKeywords(path string) map[byte]string {
	kw := make(map[byte]string)
	b, err := os.ReadFile(path)
	if err != nil {
		return kw
	}
	for _, line := range strings.Split(string(b), "\n") {
		idx, name, ok := strings.Cut(strings.TrimSpace(line), " ")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n < 0 || n >= 26 || !validKeyword(name) {
			continue
		}
		kw[byte('a'+n)] = name
	}
	return kw
}

// validKeyword accepts an IMAP atom that is not a system flag.
func validKeyword(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// readSubscriptions reads Dovecot's subscriptions file: in version 2 a
// "V\t2" header and a blank line, then one name a line with a tab between
// hierarchy levels; in version 1 one name a line with "." between levels.
// It returns nil when there is no file (everything is subscribed).
func readSubscriptions(path string) map[string]bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	lines := strings.Split(string(b), "\n")
	sep := "."
	if len(lines) > 0 && strings.HasPrefix(lines[0], "V\t") {
		sep = "\t"
		for len(lines) > 0 && lines[0] != "" {
			lines = lines[1:]
		}
	}
	subs := make(map[string]bool)
	for _, l := range lines {
		if l = strings.TrimRight(l, "\r"); l == "" {
			continue
		}
		if n, err := folderName(strings.ReplaceAll(l, sep, ".")); err == nil {
			subs[n] = true
		}
	}
	return subs
}

// ReadMessage reads a message file and returns it with CRLF line ends.
// A file that is empty, compressed, too large or has no header is
// damaged.
func ReadMessage(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := checkMessage(b); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return store.CRLF(b), nil
}

// checkMessage refuses what is no RFC 5322 message.
func checkMessage(b []byte) error {
	switch {
	case len(b) == 0:
		return errors.New("empty file")
	case len(b) > maxFile:
		return fmt.Errorf("larger than %d bytes", maxFile)
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}), bytes.HasPrefix(b, []byte("BZh")), bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return errors.New("compressed (maildir zlib plugin?): decompress it first")
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	name, _, ok := bytes.Cut(line, []byte(":"))
	if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t\x00") {
		return errors.New("no header line at the start")
	}
	return nil
}
