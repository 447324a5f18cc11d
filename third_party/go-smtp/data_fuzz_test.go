package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// mailsuite: FuzzDataReader checks the end-of-data state machine against
// RFC 5321 section 4.5.2 read plainly: lines end with CRLF, the first line
// that is "." ends the data, and a leading dot is removed from every other
// line. Everything else, bare CRs included, passes through, and the bytes
// after the end are left for the next command.
func FuzzDataReader(f *testing.F) {
	for _, s := range []string{"a\r\n.\r\n", "x\r\r\n.\r\nQUIT\r\n", "x\r\n.\rX\r\n.\r\n", "..a\r\n.\r\n",
		"x\n.\nQUIT\r\n", ".\r\n", "a\r\n.\r\r\n.\r\n", "no end", "\r\n\r\n.\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(in), 16)
		got, err := io.ReadAll(&dataReader{r: br})
		rest, _ := io.ReadAll(br)

		s := "\r\n" + string(in)
		end := strings.Index(s, "\r\n.\r\n")
		if end < 0 {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%q: no end of data, got err %v", in, err)
			}
			return
		}
		want := strings.ReplaceAll(s[:end+2], "\r\n.", "\r\n")[2:]
		if err != nil || string(got) != want {
			t.Fatalf("%q: got %q, %v; want %q", in, got, err, want)
		}
		if string(rest) != s[end+5:] {
			t.Fatalf("%q: left %q for the next command, want %q", in, rest, s[end+5:])
		}
	})
}
