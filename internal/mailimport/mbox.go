package mailimport

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"mailsuite/store"
)

// MboxMessage is one message of an mbox file: where it lies and what its
// "From " line and Status headers say.
type MboxMessage struct {
	N      int   // 1-based position in the file, for reports
	Offset int64 // of the first header line, after the "From " line
	Length int64 // up to the separating blank line
	Date   time.Time
	Flags  []string
}

// maxLine bounds one line of an mbox while scanning.
const maxLine = 1 << 20

// ScanMbox finds the messages of an mbox (mboxrd or mboxo): each begins
// with a "From " line at the start of the file or after a blank line.
// Only offsets are kept, so a file of any size takes little memory; the
// bodies are read by ReadMbox.
func ScanMbox(r io.Reader) ([]MboxMessage, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var out []MboxMessage
	var off int64
	prevBlank, inHeader := true, false
	var cur *MboxMessage
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A long line: consume it whole, it is body text.
			rest, err2 := skipLine(br, maxLine)
			line, err = append(line, rest...), err2
		}
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				break
			}
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		trim := bytes.TrimRight(line, "\r\n")
		if prevBlank && bytes.HasPrefix(line, []byte("From ")) {
			if cur != nil {
				cur.Length = off - cur.Offset
				out = append(out, *cur)
			} else if off > 0 {
				return nil, fmt.Errorf("text before the first \"From \" line: not an mbox")
			}
			cur = &MboxMessage{N: len(out) + 1, Offset: off + int64(len(line)), Date: fromLineDate(string(trim))}
			inHeader = true
		} else if cur == nil {
			return nil, fmt.Errorf("line %d: does not begin with \"From \": not an mbox", n)
		} else if inHeader {
			if len(trim) == 0 {
				inHeader = false
			} else {
				cur.Flags = append(cur.Flags, statusFlags(string(trim))...)
			}
		}
		prevBlank = len(trim) == 0
		off += int64(len(line))
		if err == io.EOF {
			break
		}
	}
	if cur != nil {
		cur.Length = off - cur.Offset
		out = append(out, *cur)
	}
	return out, nil
}

// skipLine reads the rest of a line longer than the buffer, keeping at
// most limit bytes of it.
func skipLine(br *bufio.Reader, limit int) ([]byte, error) {
	var rest []byte
	for {
		b, err := br.ReadSlice('\n')
		if len(rest) < limit {
			rest = append(rest, b...)
		}
		if err != bufio.ErrBufferFull {
			return rest, err
		}
	}
}

// fromLineDate reads the date of "From sender Mon Jan  2 15:04:05 2006";
// the zero time when it has none.
func fromLineDate(line string) time.Time {
	f := strings.Fields(line)
	if len(f) < 7 {
		return time.Time{}
	}
	t, err := time.Parse(time.ANSIC, strings.Join(f[2:7], " "))
	if err != nil {
		return time.Time{}
	}
	return t
}

// statusFlags maps the Status and X-Status headers mail readers write
// into mboxes (R read, A answered, F flagged, T draft, D deleted).
func statusFlags(line string) []string {
	name, v, ok := strings.Cut(line, ":")
	if !ok {
		return nil
	}
	var flags []string
	name = strings.ToLower(name)
	for _, c := range strings.TrimSpace(v) {
		switch {
		case name == "status" && c == 'R':
			flags = append(flags, `\Seen`)
		case name == "x-status" && c == 'A':
			flags = append(flags, `\Answered`)
		case name == "x-status" && c == 'F':
			flags = append(flags, `\Flagged`)
		case name == "x-status" && c == 'T':
			flags = append(flags, `\Draft`)
		case name == "x-status" && c == 'D':
			flags = append(flags, `\Deleted`)
		}
	}
	return flags
}

// ReadMbox reads message m from the mbox f: the separating blank line
// dropped, ">From " lines unescaped (mboxrd: one ">" removed from
// ">>From "... too), CRLF line ends.
func ReadMbox(f io.ReaderAt, m MboxMessage) ([]byte, error) {
	if m.Length > maxFile {
		return nil, fmt.Errorf("message %d: larger than %d bytes", m.N, maxFile)
	}
	b := make([]byte, m.Length)
	if _, err := f.ReadAt(b, m.Offset); err != nil {
		return nil, fmt.Errorf("message %d: %w", m.N, err)
	}
	switch {
	case bytes.HasSuffix(b, []byte("\r\n\r\n")):
		b = b[:len(b)-2]
	case bytes.HasSuffix(b, []byte("\n\n")):
		b = b[:len(b)-1]
	}
	b = unescapeFrom(b)
	if err := checkMessage(b); err != nil {
		return nil, fmt.Errorf("message %d (offset %d): %w", m.N, m.Offset, err)
	}
	return store.CRLF(b), nil
}

// unescapeFrom removes one ">" from every line that is ">"s then "From ".
func unescapeFrom(b []byte) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	for i, l := range lines {
		t := bytes.TrimLeft(l, ">")
		if len(t) < len(l) && bytes.HasPrefix(t, []byte("From ")) {
			lines[i] = l[1:]
		}
	}
	return bytes.Join(lines, nil)
}
