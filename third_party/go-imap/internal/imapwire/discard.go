package imapwire

// mailsuite: this file is mailsuite's. A command the server answers without
// reading it all may still be followed by non-synchronizing literals the
// client sends regardless (LITERAL+); their bytes must be thrown away, not
// parsed as the next commands.

import (
	"bufio"
	"errors"
	"io"
	"strconv"
)

// ErrDiscardLimit is returned by DiscardCommand when the rest of the
// command is larger than its limit: the connection must be closed.
var ErrDiscardLimit = errors.New("imapwire: too much data after a refused command")

// errLiteralRefused stops parsing at a refused literal's data.
var errLiteralRefused = &DecoderExpectError{Message: "literal refused"}

// Refuse marks the literal as refused before any of it was read. If it is
// non-synchronizing the client sends it anyway, and DiscardCommand throws
// it away.
func (lit *LiteralReader) Refuse(nonSync bool) {
	if lit.dec == nil {
		return
	}
	if nonSync {
		lit.dec.refused, lit.dec.hasRefused = lit.size, true
	}
	lit.cancel()
}

// DiscardCommand throws away the rest of the current command: a refused
// literal, the rest of its line and, while a line ends with a
// non-synchronizing literal, that literal and the line after it. It reads
// at most limit bytes; beyond, it returns ErrDiscardLimit.
func (dec *Decoder) DiscardCommand(limit int64) error {
	var size int64
	switch {
	case dec.hasRefused:
		size, dec.hasRefused = dec.refused, false
	case dec.crlf:
		return nil
	}
	for {
		if size > limit {
			return ErrDiscardLimit
		}
		if _, err := io.CopyN(io.Discard, dec.r, size); err != nil {
			return err
		}
		limit -= size
		tail, n, err := readLineTail(dec.r, limit)
		if err != nil {
			return err
		}
		limit -= n
		dec.crlf = true
		var ok bool
		if size, ok = nonSyncLiteralSuffix(tail); !ok {
			return nil
		}
	}
}

// readLineTail reads up to and including the next LF and returns the last
// bytes of the line and the number of bytes read.
func readLineTail(r *bufio.Reader, limit int64) ([]byte, int64, error) {
	var (
		tail [32]byte
		n    int64
		used int
	)
	for {
		chunk, err := r.ReadSlice('\n')
		n += int64(len(chunk))
		if n > limit {
			return nil, n, ErrDiscardLimit
		}
		if len(chunk) >= len(tail) {
			used = copy(tail[:], chunk[len(chunk)-len(tail):])
		} else {
			keep := len(tail) - len(chunk)
			if used > keep {
				copy(tail[:], tail[used-keep:used])
				used = keep
			}
			used += copy(tail[used:], chunk)
		}
		switch err {
		case nil:
			return tail[:used], n, nil
		case bufio.ErrBufferFull:
			continue
		default:
			return nil, n, err
		}
	}
}

// nonSyncLiteralSuffix reports whether line ends with "{size+}" and a line
// break.
func nonSyncLiteralSuffix(line []byte) (int64, bool) {
	end := len(line)
	if end > 0 && line[end-1] == '\n' {
		end--
	}
	if end > 0 && line[end-1] == '\r' {
		end--
	}
	if end < 4 || line[end-1] != '}' || line[end-2] != '+' {
		return 0, false
	}
	start := end - 2
	for start > 0 && line[start-1] >= '0' && line[start-1] <= '9' {
		start--
	}
	if start == 0 || line[start-1] != '{' || start == end-2 {
		return 0, false
	}
	size, err := strconv.ParseInt(string(line[start:end-2]), 10, 64)
	return size, err == nil
}
