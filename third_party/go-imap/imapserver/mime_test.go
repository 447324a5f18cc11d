package imapserver

// mailsuite: tests of the slicing MIME walk (mime.go) and of the extraction
// functions built on it. The expected answers are Dovecot 2.3's.

import (
	"bufio"
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
	"github.com/emersion/go-message/textproto"
)

// bodyStructureString is BODYSTRUCTURE as written on the wire.
func bodyStructureString(bs imap.BodyStructure) string {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	enc := imapwire.NewEncoder(bw, imapwire.ConnSideServer)
	writeBodyStructure(enc, bs, true)
	bw.Flush()
	return buf.String()
}

// nestedMessages builds a message of n message/rfc822 entities, each inside
// the previous.
func nestedMessages(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "Subject: L%d\r\nContent-Type: message/rfc822\r\n\r\n", i)
	}
	b.WriteString("Subject: leaf\r\n\r\nhello\r\n")
	return b.Bytes()
}

// nestedMultiparts builds n multiparts, each the only part of the previous.
func nestedMultiparts(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%03dx\"\r\n\r\n--b%03dx\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nhi\r\n")
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%03dx--\r\n", i)
	}
	return b.Bytes()
}

func TestBodyStructureDovecot(t *testing.T) {
	for _, tc := range []struct {
		name, msg, want string
	}{
		{"empty multipart", "Content-Type: multipart/mixed; boundary=zzz\r\n\r\n",
			`(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "zzz") NIL NIL NIL)`},
		{"closed empty multipart", "Content-Type: multipart/mixed; boundary=zzz\r\n\r\n--zzz--\r\n",
			`(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "zzz") NIL NIL NIL)`},
		{"no boundary", "Content-Type: multipart/mixed\r\n\r\n--\r\nContent-Type: text/plain\r\n\r\nabc\r\n----\r\n",
			`(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL)`},
		{"unterminated", "Content-Type: multipart/mixed; boundary=zzz\r\n\r\n--zzz\r\nContent-Type: text/plain\r\n\r\nabc\r\ndef\r\n",
			`(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 2 NIL NIL NIL NIL) "mixed" ("boundary" "zzz") NIL NIL NIL)`},
		{"nested unterminated", "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ninner\r\n--a\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--a--\r\n",
			`((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 0 NIL NIL NIL NIL) "mixed" ("boundary" "a") NIL NIL NIL)`},
		{"bare LF", "Content-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n\na\n--q--\n",
			`(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 0 NIL NIL NIL NIL) "mixed" ("boundary" "q") NIL NIL NIL)`},
		{"empty message/rfc822", "Content-Type: message/rfc822\r\n\r\n",
			`("message" "rfc822" NIL NIL NIL "7bit" 0 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) 0 NIL NIL NIL NIL)`},
		{"empty", "", `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)`},
		{"empty message/rfc822 part", "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: message/rfc822\r\n\r\n--a--\r\n",
			`(("message" "rfc822" NIL NIL NIL "7bit" 0 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) 0 NIL NIL NIL NIL) "mixed" ("boundary" "a") NIL NIL NIL)`},
	} {
		got := bodyStructureString(ExtractBodyStructure(strings.NewReader(tc.msg)))
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// Entities deeper than 100 levels are one application/octet-stream part,
// with Dovecot's sizes and line counts at every level.
func TestBodyStructureDepthLimit(t *testing.T) {
	got := bodyStructureString(ExtractBodyStructure(bytes.NewReader(nestedMessages(105))))
	if n := strings.Count(got, `"message" "rfc822"`); n != 99 {
		t.Errorf("%d message/rfc822 levels, want 99", n)
	}
	for _, want := range []string{
		`("message" "rfc822" NIL NIL NIL "7bit" 4804 (NIL "L1" NIL NIL NIL NIL NIL NIL NIL NIL) (`,
		`("message" "rfc822" NIL NIL NIL "7bit" 305 (NIL "L99" NIL NIL NIL NIL NIL NIL NIL NIL) ("application" "octet-stream" NIL NIL NIL "7bit" 259 NIL NIL NIL NIL) 21 NIL NIL NIL NIL) 24 NIL`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s", want)
		}
	}

	got = bodyStructureString(ExtractBodyStructure(bytes.NewReader(nestedMultiparts(105))))
	want := `("application" "octet-stream" ("boundary" "b099x") NIL NIL "7bit" 405 NIL NIL NIL NIL) "mixed" ("boundary" "b098x") NIL NIL NIL)`
	if !strings.HasPrefix(got, strings.Repeat("(", 99)+want) {
		t.Errorf("got %.300s", got)
	}
}

// The 12 000-level bomb costs a few megabytes, not gigabytes.
func TestBodyStructureBomb(t *testing.T) {
	msg := nestedMessages(12000)
	for _, f := range []func(){
		func() { ExtractBodyStructure(bytes.NewReader(msg)) },
		func() {
			ExtractBodySection(bytes.NewReader(msg), &imap.FetchItemBodySection{Part: make([]int, 12000), Specifier: imap.PartSpecifierText})
		},
		func() {
			ExtractBinarySection(bytes.NewReader(msg), &imap.FetchItemBinarySection{Part: []int{1, 1, 1, 1}})
		},
	} {
		if alloc := allocated(f); alloc > 50<<20 {
			t.Errorf("allocated %d MB", alloc>>20)
		}
	}
}

func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Part paths go no deeper than the body structure shows.
func TestBodySectionDepthLimit(t *testing.T) {
	msg := nestedMessages(105)
	path := func(n int) []int {
		p := make([]int, n)
		for i := range p {
			p[i] = 1
		}
		return p
	}
	got := ExtractBodySection(bytes.NewReader(msg), &imap.FetchItemBodySection{Part: path(98), Specifier: imap.PartSpecifierHeader})
	if string(got) != "Subject: L98\r\nContent-Type: message/rfc822\r\n\r\n" {
		t.Errorf("98 levels down: %q", got)
	}
	// Part 99 is opaque: asking inside it gets its body, not its parts.
	got = ExtractBodySection(bytes.NewReader(msg), &imap.FetchItemBodySection{Part: path(99), Specifier: imap.PartSpecifierHeader})
	if string(got) != "Subject: L99\r\nContent-Type: message/rfc822\r\n\r\n" {
		t.Errorf("99 levels down: %q", got)
	}
	if got := ExtractBodySection(bytes.NewReader(msg), &imap.FetchItemBodySection{Part: append(path(99), 2)}); got != nil {
		t.Errorf("below the limit: %q", got)
	}
	// BODY[] is the stored message, byte for byte.
	lf := []byte("Subject: x\n\nbody\n")
	if got := ExtractBodySection(bytes.NewReader(lf), &imap.FetchItemBodySection{}); !bytes.Equal(got, lf) {
		t.Errorf("BODY[] = %q", got)
	}
}

// The empty multipart writes as Dovecot's answer even when a backend
// builds it without children.
func TestWriteEmptyMultipart(t *testing.T) {
	got := bodyStructureString(&imap.BodyStructureMultiPart{Subtype: "mixed", Extended: &imap.BodyStructureMultiPartExt{}})
	want := `(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL)`
	if got != want {
		t.Errorf("got %s", got)
	}
}

// Groups are marked as RFC 3501 asks and Dovecot answers (go-imap puts a
// space between addresses where Dovecot does not; its client needs it).
func TestEnvelopeGroups(t *testing.T) {
	for _, tc := range []struct{ to, want string }{
		{"group: g1@d1.org, g2@d2.org;, group2:;",
			`((NIL NIL "group" NIL) (NIL NIL "g1" "d1.org") (NIL NIL "g2" "d2.org") (NIL NIL NIL NIL) (NIL NIL "group2" NIL) (NIL NIL NIL NIL))`},
		{"a@b.c, \"The: Team\" <t@d.e>, undisclosed-recipients:;",
			`((NIL NIL "a" "b.c") ("The: Team" NIL "t" "d.e") (NIL NIL "undisclosed-recipients" NIL) (NIL NIL NIL NIL))`},
		{"\"My Group\" (c): x@y.z; tail@t.t",
			`((NIL NIL "My Group" NIL) (NIL NIL "x" "y.z") (NIL NIL NIL NIL) (NIL NIL "tail" "t.t"))`},
		{"open: x@y.z", `((NIL NIL "open" NIL) (NIL NIL "x" "y.z") (NIL NIL NIL NIL))`},
		{"plain@a.b", `((NIL NIL "plain" "a.b"))`},
	} {
		var h textproto.Header
		h.Add("To", tc.to)
		var buf bytes.Buffer
		bw := bufio.NewWriter(&buf)
		writeAddressList(imapwire.NewEncoder(bw, imapwire.ConnSideServer), ExtractEnvelope(h).To)
		bw.Flush()
		if buf.String() != tc.want {
			t.Errorf("To: %s\n got %s\nwant %s", tc.to, buf.String(), tc.want)
		}
	}
}

// A header without the blank line is still a header, however short.
func TestShortHeaderOnly(t *testing.T) {
	got := bodyStructureString(ExtractBodyStructure(strings.NewReader("Content-Type: text/html")))
	if !strings.HasPrefix(got, `("text" "html"`) {
		t.Errorf("got %s", got)
	}
	e := newMIMEEntity([]byte("a:"), 0, "")
	if e.header.Get("A") != "" || !e.header.Has("A") || len(e.body) != 0 {
		t.Errorf("header %v body %q", e.header, e.body)
	}
}
