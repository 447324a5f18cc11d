package imapserver

// mailsuite: fuzzing of the MIME extraction (mime.go, message.go).

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-message/textproto"
)

// FuzzBodyStructure runs every extraction over arbitrary messages: no
// panic, and allocations bounded by a small multiple of the input.
func FuzzBodyStructure(f *testing.F) {
	f.Add([]byte("Subject: hi\r\n\r\nhello\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=zzz\r\n\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=zzz\r\n\r\n--zzz\r\nContent-Type: text/plain\r\n\r\nabc"))
	f.Add([]byte("Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: d1\r\n\r\nbody\r\n--d--\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n"))
	f.Add([]byte("Content-Type: message/rfc822\r\n\r\n"))
	f.Add(nestedMessages(300))
	f.Add(nestedMultiparts(120))
	f.Add([]byte("To: g: a@b.c, \"x\" <y@z>;, h:;\r\nCc: (c) \"q\\\"\" :;\r\n\r\n"))
	f.Add([]byte("X-Long: " + strings.Repeat("a", 10000) + "\r\n \r\n\tcont\r\nbad line\r\n: empty\r\n\r\nbody"))
	f.Add([]byte("Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!notbase64"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		alloc := allocated(func() {
			bs := ExtractBodyStructure(bytes.NewReader(msg))
			bodyStructureString(bs)
			for _, part := range [][]int{nil, {1}, {2}, {1, 1}, {1, 2, 1}, {1, 1, 1, 1}} {
				for _, spec := range []imap.PartSpecifier{imap.PartSpecifierNone, imap.PartSpecifierHeader, imap.PartSpecifierText, imap.PartSpecifierMIME} {
					ExtractBodySection(bytes.NewReader(msg), &imap.FetchItemBodySection{Part: part, Specifier: spec})
				}
				ExtractBodySection(bytes.NewReader(msg), &imap.FetchItemBodySection{Part: part, Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"To"}})
				ExtractBinarySection(bytes.NewReader(msg), &imap.FetchItemBinarySection{Part: part})
			}
			h, _ := textproto.ReadHeader(bufioReader(msg))
			env := ExtractEnvelope(h)
			for _, l := range [][]imap.Address{env.From, env.To, env.Cc} {
				depth := 0
				for _, a := range l {
					if a.IsGroupStart() {
						depth++
					} else if a.IsGroupEnd() {
						depth--
					}
					if depth < 0 || depth > 1 {
						t.Fatalf("unbalanced groups: %v", l)
					}
				}
			}
		})
		// About 30 extractions of the message, each a few copies at most,
		// plus per-part bookkeeping.
		if limit := uint64(8<<20 + 2000*len(msg)); alloc > limit {
			t.Fatalf("allocated %d bytes for a %d-byte message", alloc, len(msg))
		}
	})
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }
