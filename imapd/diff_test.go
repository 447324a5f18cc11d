package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// diffScript is run against imapd and against go-imap's imapmemserver;
// the normalized responses must be the same.
var diffScript = []string{
	"LOGIN " + testUser + ` "` + testPass + `"`,
	literalCmd(`APPEND INBOX (\Seen) "02-Jan-2006 15:04:05 +0000"`, testMessage("one")),
	literalCmd(`APPEND INBOX "03-Jan-2006 15:04:05 +0000"`, testMessage("two")),
	literalCmd(`APPEND INBOX "04-Jan-2006 15:04:05 +0000"`, testMessage("three")),
	"SELECT INBOX",
	"FETCH 1:* (UID RFC822.SIZE ENVELOPE INTERNALDATE)",
	"FETCH 2 (BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[TEXT]<0.5>)",
	"FETCH 3 (BODYSTRUCTURE)",
	"UID FETCH 2:* (FLAGS)",
	`STORE 2 +FLAGS (\Flagged)`,
	`STORE 1 -FLAGS.SILENT (\Seen)`,
	"UID SEARCH FLAGGED",
	"SEARCH UNSEEN",
	"SEARCH SUBJECT two",
	"SEARCH OR BODY one BODY three",
	"COPY 1:2 Trash",
	"STATUS Trash (MESSAGES UIDNEXT UNSEEN)",
	`UID STORE 1 +FLAGS.SILENT (\Deleted)`,
	"EXPUNGE",
	"FETCH 1:* (UID FLAGS)",
	"MOVE 1 Junk",
	"NOOP",
	"FETCH *:1 (UID)",
	"UID FETCH 100:* (UID)",
	"CREATE a/b",
	"RENAME a/b a/c",
	"DELETE a/c",
	"SELECT Nope",
	"FETCH 1 (UID)",
	"LOGOUT",
}

// memServerBugs holds our expected answer where imapmemserver is wrong:
// its MOVE both writes the EXPUNGE and queues it for the next poll, so one
// moved message is reported expunged twice.
var memServerBugs = map[string]string{
	"MOVE 1 Junk": "* OK [COPYUID V 2 1] COPY completed | * 1 EXPUNGE | OK MOVE completed",
}

func literalCmd(prefix string, body []byte) string {
	return fmt.Sprintf("%s {%d+}\r\n%s", prefix, len(body), body)
}

func TestDifferentialAgainstMemServer(t *testing.T) {
	e := newEnv(t, withPlaintext)
	ours := runScript(t, e.addr, diffScript, normalize, nil)

	mem := imapmemserver.New()
	u := imapmemserver.NewUser(testUser, testPass)
	for _, n := range []string{"INBOX", "Sent", "Drafts", "Trash", "Junk"} {
		u.Create(n, nil)
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}, imap.CapMove: {}, imap.CapUIDPlus: {}, imap.CapLiteralPlus: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	ref := runScript(t, ln.Addr().String(), diffScript, normalize, nil)

	for i := range diffScript {
		if want, ok := memServerBugs[diffScript[i]]; ok {
			if ours[i] != want {
				t.Errorf("%s\n  imapd: %s\n  want:  %s", diffScript[i], ours[i], want)
			}
			continue
		}
		if ours[i] != ref[i] {
			t.Errorf("%s\n  imapd:  %s\n  memsrv: %s", strings.SplitN(diffScript[i], "\r\n", 2)[0], ours[i], ref[i])
		}
	}
}

// runScript runs script on a new connection and returns, per command,
// its responses, each passed through norm ("" drops a line) and joined
// with " | ". prep, if not nil, rewrites each command before it is sent.
func runScript(t *testing.T, addr string, script []string, norm, prep func(string) string) []string {
	sc := dialScript(t, addr)
	defer sc.c.Close()
	out := make([]string, len(script))
	for i, cmd := range script {
		if prep != nil {
			cmd = prep(cmd)
		}
		out[i] = sc.run(cmd, norm)
	}
	return out
}

// scriptConn is a connection that runs script commands one at a time.
type scriptConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
	n int
}

func dialScript(t *testing.T, addr string) *scriptConn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sc := &scriptConn{t: t, c: c, r: bufio.NewReader(c)}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	sc.r.ReadString('\n')
	return sc
}

// run sends one command and returns its responses, normalised by norm
// and joined with " | ".
func (sc *scriptConn) run(cmd string, norm func(string) string) string {
	t, c, r := sc.t, sc.c, sc.r
	tag := fmt.Sprintf("d%d", sc.n)
	sc.n++
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "%s %s\r\n", tag, cmd)
	var lines []string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		l = strings.TrimRight(l, "\r\n")
		if n := literalSize(l); n > 0 {
			buf := make([]byte, n)
			if _, err := io.ReadFull(r, buf); err != nil {
				t.Fatal(err)
			}
			rest, _ := r.ReadString('\n')
			l += string(buf) + strings.TrimRight(rest, "\r\n")
		}
		if strings.HasPrefix(l, tag+" ") {
			if n := norm(strings.TrimPrefix(l, tag+" ")); n != "" {
				lines = append(lines, n)
			}
			return strings.Join(lines, " | ")
		}
		if n := norm(l); n != "" {
			lines = append(lines, n)
		}
	}
}

var literalRE = regexp.MustCompile(`\{(\d+)\}$`)

func literalSize(l string) int {
	m := literalRE.FindStringSubmatch(l)
	if m == nil {
		return 0
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}

// ignorable drops responses whose content is expected to differ: the
// mailbox FLAGS lists (imapd lists the system flags, memserver only those
// in use), UIDVALIDITY values, capability lists, and RECENT (memserver
// has no \Recent).
func ignorable(l string) bool {
	if strings.HasSuffix(l, " RECENT") {
		return true
	}
	for _, p := range []string{"* FLAGS", "* OK [PERMANENTFLAGS", "* OK [UIDVALIDITY", "* CAPABILITY", "* OK [UNSEEN", "* OK [CLOSED]"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

var (
	uidvalidityRE = regexp.MustCompile(`(APPENDUID|COPYUID) \d+`)
	flagListRE    = regexp.MustCompile(`FLAGS \(([^)]*)\)`)
	capsRE        = regexp.MustCompile(`\[CAPABILITY [^]]*\] `)
)

// normalize removes UIDVALIDITY values, capability lists and \Recent,
// and makes flag lists lower-case and sorted (memserver lower-cases
// flags).
func normalize(l string) string {
	if ignorable(l) {
		return ""
	}
	l = strings.ReplaceAll(l, ` \Recent)`, ")")
	l = strings.ReplaceAll(l, `(\Recent)`, "()")
	l = strings.ReplaceAll(l, `\Recent `, "")
	l = uidvalidityRE.ReplaceAllString(l, "$1 V")
	l = capsRE.ReplaceAllString(l, "")
	return flagListRE.ReplaceAllStringFunc(l, func(s string) string {
		f := strings.Fields(strings.ToLower(flagListRE.FindStringSubmatch(s)[1]))
		sort.Strings(f)
		return "FLAGS (" + strings.Join(f, " ") + ")"
	})
}
