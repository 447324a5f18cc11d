package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailsuite/store"
)

// deliverRaw puts body into the user's INBOX as smtpd would.
func (e *testEnv) deliverRaw(body []byte) {
	e.t.Helper()
	if err := e.st.Accept(context.Background(), store.Envelope{From: "bob@example.org", Local: []int64{e.userID}}, body); err != nil {
		e.t.Fatal(err)
	}
}

// mimeBomb is n message/rfc822 entities each inside the previous: 12 000
// levels make 384 KB.
func mimeBomb(n int) []byte {
	var b bytes.Buffer
	b.WriteString("From: x@example.org\r\nSubject: bomb\r\n")
	for i := 0; i < n; i++ {
		b.WriteString("Content-Type: message/rfc822\r\n\r\n")
	}
	b.WriteString("Subject: leaf\r\n\r\nhello\r\n")
	return b.Bytes()
}

// totalAlloc is the bytes allocated by the whole process so far.
func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// A 12 000-level message/rfc822 nesting is answered with 100 levels at a
// cost of megabytes (it took gigabytes, quadratic in the depth).
func TestMIMEBomb(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliverRaw(mimeBomb(12000))
	tc := e.dial()
	tc.login()
	tc.cmd("SELECT INBOX")
	before := totalAlloc()
	u, r := tc.cmd("FETCH 1 (BODYSTRUCTURE ENVELOPE)")
	if !strings.HasPrefix(r, "OK") || len(u) != 1 {
		t.Fatalf("FETCH: %q %s", u, r)
	}
	if n := strings.Count(u[0], `"message" "rfc822"`); n != 99 || !strings.Contains(u[0], `("application" "octet-stream" NIL NIL NIL "7bit" `) {
		t.Errorf("%d levels, answer %.300s", n, u[0])
	}
	path := strings.TrimSuffix(strings.Repeat("1.", 10000), ".")
	_, r = tc.cmd("FETCH 1 (BODY.PEEK[%s.TEXT] BINARY.PEEK[1.1.1] BINARY.SIZE[1.1.1])", path)
	if !strings.HasPrefix(r, "OK") {
		t.Fatalf("deep section: %s", r)
	}
	if alloc := totalAlloc() - before; alloc > 100<<20 {
		t.Errorf("FETCH of the bomb allocated %d MB", alloc>>20)
	}
}

// A multipart without parts is answered as Dovecot answers it, and the
// session goes on.
func TestEmptyMultipart(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliverRaw([]byte("From: x@example.org\r\nContent-Type: multipart/mixed; boundary=zzz\r\n\r\n"))
	e.deliver("after")
	tc := e.dial()
	tc.login()
	tc.cmd("SELECT INBOX")
	u, r := tc.cmd("FETCH 1:* (UID FLAGS BODYSTRUCTURE)")
	if !strings.HasPrefix(r, "OK") || len(u) != 2 {
		t.Fatalf("FETCH: %q %s", u, r)
	}
	want := `BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "zzz") NIL NIL NIL)`
	if !strings.Contains(u[0], want) {
		t.Errorf("got %s\nwant %s", u[0], want)
	}
	if _, r := tc.cmd("NOOP"); !strings.HasPrefix(r, "OK") {
		t.Fatalf("NOOP: %s", r)
	}
}

// A refused non-synchronizing literal is thrown away: its lines never run
// as commands. Beyond the discard bound the server says BYE.
func TestLiteralInjection(t *testing.T) {
	e := newEnv(t, withPlaintext)
	tc := e.dial()
	tc.login()
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(e.log.String())
		}
	})

	injected := func(name string) []byte {
		return []byte("X-Inject: CREATE " + name + "\r\nt99 CREATE " + name + "\r\n\r\n")
	}
	// APPEND over the limit (1 MB in tests).
	msg := append(injected("pwned1"), bytes.Repeat([]byte("t98 CREATE pwned1b\r\n"), 2000000/20)...)
	msg = msg[:2000000]
	if _, r := tc.cmd("APPEND INBOX {%d+}\r\n%s", len(msg), msg); !strings.Contains(r, "[TOOBIG]") {
		t.Fatalf("APPEND: %s", r)
	}
	// A syntax error before a literal: the literal is skipped too.
	lit := injected("pwned2")
	if _, r := tc.cmd("APPEND INBOX (\\Seen) \"not a date\" {%d+}\r\n%s", len(lit), lit); !strings.HasPrefix(r, "BAD") && !strings.HasPrefix(r, "NO") {
		t.Fatalf("bad APPEND: %s", r)
	}
	// An oversized literal elsewhere, followed by a second one.
	big := append(injected("pwned3"), bytes.Repeat([]byte("x"), 5000)...)
	if _, r := tc.cmd("STATUS {%d+}\r\n%s {%d+}\r\n%s", len(big), big, len(lit), lit); !strings.HasPrefix(r, "BAD") && !strings.HasPrefix(r, "NO") {
		t.Fatalf("STATUS: %s", r)
	}
	if _, r := tc.cmd("NOOP"); !strings.HasPrefix(r, "OK") {
		t.Fatalf("NOOP: %s", r)
	}
	u, _ := tc.cmd(`LIST "" "*"`)
	if strings.Contains(strings.Join(u, "\n"), "pwned") {
		t.Fatalf("injected mailbox created: %q", u)
	}

	// Over the bound: NO, then BYE and the connection closes.
	tc.send(fmt.Sprintf("t50 APPEND INBOX {%d+}\r\n", 64<<20))
	if l := tc.line(); !strings.HasPrefix(l, "t50 NO [TOOBIG]") {
		t.Fatalf("got %q", l)
	}
	if l := tc.line(); !strings.HasPrefix(l, "* BYE") {
		t.Fatalf("got %q", l)
	}
	tc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if l, err := tc.r.ReadString('\n'); err == nil {
		t.Fatalf("connection still open: %q", l)
	}
	for _, name := range []string{"pwned1", "pwned1b", "pwned2", "pwned3"} {
		if _, err := e.st.MailboxByName(context.Background(), e.userID, name); err == nil {
			t.Errorf("mailbox %s exists", name)
		}
	}
}

// ENVELOPE keeps RFC 5322 groups, as Dovecot does.
func TestEnvelopeGroup(t *testing.T) {
	e := newEnv(t)
	e.deliverRaw([]byte("From: a@b.c\r\nTo: group: g1@d1.org, g2@d2.org;, group2:;\r\nSubject: x\r\n\r\nhi\r\n"))
	c := e.client(nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %v %v", msgs, err)
	}
	want := []imap.Address{{Mailbox: "group"}, {Mailbox: "g1", Host: "d1.org"}, {Mailbox: "g2", Host: "d2.org"}, {},
		{Mailbox: "group2"}, {}}
	if got := msgs[0].Envelope.To; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("To = %v, want %v", got, want)
	}
}

// ID with 30 long pairs is answered, before login too; the oversized pairs
// are ignored (RFC 2971), not refused.
func TestIDLongPairs(t *testing.T) {
	e := newEnv(t, withPlaintext)
	tc := e.dial()
	var pairs []string
	for i := 0; i < 30; i++ {
		pairs = append(pairs, fmt.Sprintf("%q %q", fmt.Sprintf("f%02d%s", i, strings.Repeat("x", 40)), strings.Repeat("v", 1100)))
	}
	for _, args := range []string{"(" + strings.Join(pairs, " ") + ")", `("name" "test" "version" "1")`, "NIL"} {
		u, r := tc.cmd("ID %s", args)
		if !strings.HasPrefix(r, "OK") || len(u) != 1 || u[0] != `* ID ("name" "mailsuite")` {
			t.Fatalf("ID: %q %s", u, r)
		}
	}
	if u, _ := tc.cmd("CAPABILITY"); len(u) == 0 || !strings.Contains(u[0], " ID") {
		t.Errorf("CAPABILITY = %q", u)
	}
	tc.login()
}

// Invalid sequence sets are the client's error.
func TestInvalidSeqSet(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver("one")
	tc := e.dial()
	tc.login()
	tc.cmd("SELECT INBOX")
	for _, cmd := range []string{"FETCH 0 FLAGS", "FETCH 4294967296 FLAGS", "UID FETCH 0 FLAGS", "FETCH 1:0 FLAGS",
		"STORE 0 +FLAGS (\\Seen)", "UID FETCH 1:4294967296 FLAGS", "COPY 0 INBOX"} {
		if _, r := tc.cmd("%s", cmd); !strings.HasPrefix(r, "BAD") {
			t.Errorf("%s -> %s", cmd, r)
		}
	}
	if _, r := tc.cmd("FETCH 1 FLAGS"); !strings.HasPrefix(r, "OK") {
		t.Fatalf("FETCH 1: %s", r)
	}
}

// A panic in MIME extraction answers NO, is logged at error level with the
// message it came from, and leaves the session and the others serving.
func TestFetchPanicContained(t *testing.T) {
	e := newEnv(t, withPlaintext)
	e.deliver("one")
	orig := extractBodyStructure
	extractBodyStructure = func(r io.Reader) imap.BodyStructure { panic("test: cannot parse") }
	t.Cleanup(func() { extractBodyStructure = orig })

	tc := e.dial()
	tc.login()
	other := e.dial()
	other.login()
	tc.cmd("SELECT INBOX")
	if _, r := tc.cmd("FETCH 1 (UID BODYSTRUCTURE)"); !strings.HasPrefix(r, "NO") {
		t.Fatalf("FETCH: %s", r)
	}
	log := e.log.String()
	if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "uid=1") || !strings.Contains(log, "mailbox=INBOX") ||
		!strings.Contains(log, "user="+testUser) {
		t.Errorf("log lacks the error with its message:\n%s", log)
	}
	if _, r := tc.cmd("FETCH 1 (UID FLAGS)"); !strings.HasPrefix(r, "OK") {
		t.Fatalf("session after the panic: %s", r)
	}
	if _, r := other.cmd("NOOP"); !strings.HasPrefix(r, "OK") {
		t.Fatalf("other session: %s", r)
	}
}
