package imapwire

// mailsuite: tests of DiscardCommand.

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDiscardCommand(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		refused  int64
		limit    int64
		err      error
		next     string
	}{
		{"refused literal", "CREATE pwned\r\n rest\r\nA2 NOOP\r\n", 14, 100, nil, "A2 NOOP\r\n"},
		{"chained literals", "0123456789 {5+}\r\nabcde\r\nA2 NOOP\r\n", 10, 100, nil, "A2 NOOP\r\n"},
		{"over limit", strings.Repeat("x", 200) + "\r\n", 200, 100, ErrDiscardLimit, ""},
		{"chain over limit", "{500+}\r\n", 0, 100, ErrDiscardLimit, ""},
		{"long line", strings.Repeat("y", 10000) + "\r\nA2 NOOP\r\n", 0, 1 << 20, nil, "A2 NOOP\r\n"},
	} {
		br := bufio.NewReaderSize(strings.NewReader(tc.in), 16)
		dec := NewDecoder(br, ConnSideServer)
		if tc.refused > 0 {
			dec.refused, dec.hasRefused = tc.refused, true
		}
		err := dec.DiscardCommand(tc.limit)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if rest, _ := io.ReadAll(br); string(rest) != tc.next {
			t.Errorf("%s: next %q, want %q", tc.name, rest, tc.next)
		}
	}
}

func TestNonSyncLiteralSuffix(t *testing.T) {
	for line, want := range map[string]int64{
		"A1 APPEND x {12+}\r\n": 12, "{0+}\n": 0, "x {12}\r\n": -1, "x 12+}\r\n": -1, "{+}\r\n": -1, "x\r\n": -1,
	} {
		got, ok := nonSyncLiteralSuffix([]byte(line))
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("%q: %d, want %d", line, got, want)
		}
	}
}

// FuzzDiscardCommand: no panic, and never more read than the limit allows
// (plus one buffered chunk).
func FuzzDiscardCommand(f *testing.F) {
	f.Add([]byte("CREATE pwned\r\n rest {3+}\r\nabc\r\nA2 NOOP\r\n"), int64(14))
	f.Add([]byte("{99999999999999999999+}\r\n"), int64(0))
	f.Add([]byte("x {5+}\ny {0+}\n\nz"), int64(0))
	f.Fuzz(func(t *testing.T, in []byte, refused int64) {
		const limit = 1000
		r := &countReader{r: bytes.NewReader(in)}
		dec := NewDecoder(bufio.NewReaderSize(r, 16), ConnSideServer)
		if refused > 0 {
			dec.refused, dec.hasRefused = refused, true
		}
		dec.DiscardCommand(limit)
		if r.n > limit+16 {
			t.Fatalf("read %d bytes", r.n)
		}
	})
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
